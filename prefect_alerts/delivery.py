"""Send one alert now: :func:`deliver` and :func:`adeliver`.

This is the bottom of the alert path: no routing, no silences, no state. Each channel is tried once and its
:class:`DeliveryResult` returned; a channel that raises (a bug in a custom channel) becomes a ``failed`` result
instead of an exception, so one broken channel never stops the others. Results are logged: to the run's
logger inside a flow or task (visible in the Prefect UI), to ``prefect_alerts`` otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from prefect_alerts.alert import Alert, Source
from prefect_alerts.channels.base import Channel, DeliveryResult, redact, run_logger
from prefect_alerts.channels.console import ConsoleChannel

__all__ = ["adeliver", "deliver", "source_from_context"]


Channels = Channel | Sequence[Channel] | None


def _channel_list(channels: Channels) -> list[Channel]:
    if channels is None:
        return [ConsoleChannel()]
    if isinstance(channels, Channel):
        return [channels]
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Iterable):
        raise TypeError(
            "channels must be a Channel or a list of Channels (e.g. SlackChannel.from_block('ops')), "
            f"got {type(channels).__name__}"
        )
    result = list(channels)
    for channel in result:
        if not isinstance(channel, Channel):
            raise TypeError(
                f"every channel must be a prefect_alerts.channels.Channel, got {type(channel).__name__}; "
                "a saved block is loaded with e.g. SlackChannel.from_block('name')"
            )
    return result or [ConsoleChannel()]


def _crashed(channel: Channel, alert: Alert, exc: BaseException) -> DeliveryResult:
    return DeliveryResult(
        status="failed",
        channel=getattr(channel, "name", type(channel).__name__),
        detail=redact(f"channel raised {type(exc).__name__}: {exc}"),
        dedup_key=alert.dedup_key,
    )


def _log(alert: Alert, results: list[DeliveryResult]) -> None:
    log = run_logger("prefect_alerts")
    for result in results:
        if result.ok:
            log.debug("alert %r delivered via %s", alert.title[:80], result.channel)
        elif result.status == "retry":
            log.warning(
                "alert %r not delivered via %s yet (retryable): %s",
                alert.title[:80],
                result.channel,
                result.detail,
            )
        else:
            log.error(
                "alert %r could not be delivered via %s: %s", alert.title[:80], result.channel, result.detail
            )


def deliver(alert: Alert, channels: Channels = None) -> list[DeliveryResult]:
    """Send ``alert`` through each channel once, in order, and return one result per channel.

    Works in plain scripts and inside flows, tasks and state hooks (sync or async flows). With no channels
    the alert is printed by :class:`~prefect_alerts.channels.ConsoleChannel`. Never raises for a delivery
    failure: inspect the results (``result.ok``, ``result.status``, ``result.detail``).

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import SlackChannel

        results = deliver(
            Alert(title="Nightly load failed", severity="error", event="flow_failed"),
            [SlackChannel.from_block("ops-alerts")],
        )
        assert all(result.ok for result in results)
        ```
    """
    if not isinstance(alert, Alert):
        raise TypeError(
            f"deliver() takes an Alert, got {type(alert).__name__}; build one with Alert(title=...)"
        )
    results = []
    for channel in _channel_list(channels):
        try:
            results.append(channel.send(alert))
        except Exception as exc:  # a broken custom channel must not stop the others
            results.append(_crashed(channel, alert, exc))
    _log(alert, results)
    return results


async def adeliver(alert: Alert, channels: Channels = None) -> list[DeliveryResult]:
    """Async :func:`deliver`: sends through all channels concurrently; results are in channel order.

    Example:
        ```python
        import asyncio
        from prefect_alerts import Alert, adeliver

        asyncio.run(adeliver(Alert(title="Backfill finished", severity="success")))
        ```
    """
    if not isinstance(alert, Alert):
        raise TypeError(
            f"adeliver() takes an Alert, got {type(alert).__name__}; build one with Alert(title=...)"
        )
    channel_list = _channel_list(channels)
    outcomes = await asyncio.gather(
        *(channel.asend(alert) for channel in channel_list), return_exceptions=True
    )
    results = [
        _crashed(channel, alert, outcome) if isinstance(outcome, BaseException) else outcome
        for channel, outcome in zip(channel_list, outcomes, strict=True)
    ]
    _log(alert, results)
    return results


def source_from_context() -> Source:
    """The flow/task run we are inside (flow, run, deployment, task), or an empty Source outside runs."""
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:  # pragma: no cover
        return Source()
    values: dict[str, str | None] = {}
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        values.update(
            flow_name=flow_ctx.flow.name if flow_ctx.flow else None,
            flow_run_id=str(flow_ctx.flow_run.id),
            flow_run_name=flow_ctx.flow_run.name,
            deployment_id=str(flow_ctx.flow_run.deployment_id) if flow_ctx.flow_run.deployment_id else None,
        )
    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        values.update(
            task_name=task_ctx.task.name,
            task_run_id=str(task_ctx.task_run.id),
            task_run_name=task_ctx.task_run.name,
        )
    return Source(**values)
