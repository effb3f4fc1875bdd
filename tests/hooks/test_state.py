"""state_error and state_result: the exception and the return value of a state, in sync hooks, async hooks,
and sync hooks on async flows (where ``state.result()`` gives an un-awaited coroutine)."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, task
from prefect.states import Cancelled, Completed, Crashed

from prefect_alerts.hooks import StateError, state_error, state_result


def test_sync_hook_on_sync_flow_gets_the_exception_and_traceback(prefect_server: None) -> None:
    seen: list[StateError | None] = []

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        seen.append(state_error(state))

    @flow(on_failure=[hook])
    def broken() -> None:
        rows = {"a": 1}
        rows["customer_id"]

    broken(return_state=True)
    error = seen[0]
    assert error is not None
    assert isinstance(error.exception, KeyError)
    assert (error.type, error.module, error.message, error.state_name) == (
        "KeyError",
        "builtins",
        "'customer_id'",
        "Failed",
    )
    assert error.summary == "KeyError: 'customer_id'"
    assert any("in broken" in line for line in error.traceback), error.traceback
    assert any('rows["customer_id"]' in line for line in error.traceback)
    assert error.traceback[-1] == "KeyError: 'customer_id'"
    assert not any("flow_engine.py" in line for line in error.traceback)  # Prefect's frames are dropped
    assert "exception" not in error.model_dump()  # serializable


def test_sync_hook_on_async_flow_never_sees_a_coroutine(prefect_server: None) -> None:
    seen: list[Any] = []

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        naive = state.result(raise_on_failure=False)  # the trap: a coroutine here
        seen.append(asyncio.iscoroutine(naive))
        if asyncio.iscoroutine(naive):
            naive.close()
        seen.append(state_error(state))

    @flow(on_failure=[hook])
    async def broken() -> None:
        raise ValueError("bad row 12")

    asyncio.run(broken(return_state=True))
    assert seen[0] is True, "the trap this helper exists for is gone; keep the test honest"
    error = seen[1]
    assert isinstance(error, StateError) and error.summary == "ValueError: bad row 12"


def test_async_hook_on_async_flow_and_on_sync_flow(prefect_server: None) -> None:
    seen: list[StateError | None] = []

    async def hook(flow: Any, flow_run: Any, state: Any) -> None:
        seen.append(state_error(state))

    @flow(on_failure=[hook])
    async def async_broken() -> None:
        raise ValueError("async")

    @flow(on_failure=[hook])
    def sync_broken() -> None:
        raise ValueError("sync")

    asyncio.run(async_broken(return_state=True))
    sync_broken(return_state=True)
    assert [error.summary for error in seen if error] == ["ValueError: async", "ValueError: sync"]


def test_task_hook_and_timeout(prefect_server: None) -> None:
    seen: list[StateError | None] = []

    def hook(obj: Any, run: Any, state: Any) -> None:
        seen.append(state_error(state))

    @task(on_failure=[hook])
    def load() -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    @flow(on_failure=[hook], timeout_seconds=0.5)
    def slow() -> None:
        import time

        time.sleep(2)

    @flow
    def parent() -> None:
        load()

    parent(return_state=True)
    slow(return_state=True)
    task_error, timeout_error = seen
    assert task_error is not None and task_error.type == "ConnectionRefusedError"
    assert timeout_error is not None and timeout_error.state_name == "TimedOut"
    assert timeout_error.type == "FlowRunTimeoutError"
    assert timeout_error.state_message and "exceeded timeout" in timeout_error.state_message


def test_states_without_an_exception() -> None:
    assert state_error(Completed(data=1)) is None
    crashed = state_error(Crashed(message="Execution was aborted by an interrupt signal."))
    assert crashed is not None and crashed.type == "CrashedRun"
    assert crashed.message == "Execution was aborted by an interrupt signal."
    cancelled = state_error(Cancelled(message="Cancelled by ops"))
    assert cancelled is not None and (cancelled.type, cancelled.message) == (
        "CancelledRun",
        "Cancelled by ops",
    )
    interrupted = state_error(Crashed(data=KeyboardInterrupt(), message="aborted by an interrupt signal"))
    assert interrupted is not None and interrupted.type == "KeyboardInterrupt"
    assert interrupted.message == "aborted by an interrupt signal"  # no text of its own: the state's


def test_secrets_in_the_exception_are_masked(prefect_server: None) -> None:
    seen: list[StateError | None] = []

    @flow(on_failure=[lambda flow, flow_run, state: seen.append(state_error(state))])
    def broken() -> None:
        raise RuntimeError("could not connect to postgresql://etl:hunter2@db:5432/prod")

    broken(return_state=True)
    error = seen[0]
    assert error is not None and "hunter2" not in error.message and "hunter2" not in "".join(error.traceback)
    assert "postgresql://***@db:5432/prod" in error.message


def test_state_result_in_a_sync_hook_on_an_async_flow(prefect_server: None) -> None:
    seen: list[Any] = []

    @flow(on_completion=[lambda flow, flow_run, state: seen.append(state_result(state))])
    async def matches() -> list[int]:
        return [1, 2]

    asyncio.run(matches())
    assert seen == [[1, 2]]
    assert state_result(Completed(data={"n": 0})) == {"n": 0}
