"""Step 2, silence: a firing alert that an active silence matches is suppressed, naming the silence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from prefect_alerts.dispatch.stage import Dispatch

if TYPE_CHECKING:
    from prefect_alerts.silences import Silence
    from prefect_alerts.store.alerts import SilenceRow

__all__ = ["SilenceStage"]

PARSED_SILENCES_LIMIT = 4096
"""How many parsed silences one stage keeps (the store's cache holds at most 1,000 rows at a time)."""


class SilenceStage:
    """Suppresses firing alerts matched by an active silence ("silenced by s-42 until 14:05 UTC: ...").

    Resolved alerts pass: whoever was told of the failure before the silence began should hear it is over.
    Silences are read through a one-second per-process cache (``SILENCE_CACHE_SECONDS``); each cached row is
    parsed once here, not once per alert.
    """

    name: ClassVar[str] = "silence"

    def __init__(self) -> None:
        # By the row object the store's cache handed out: the entry keeps the row alive, so its id is not
        # reused while the entry exists; a row read again (after the cache expired) is parsed again. The
        # compiled matchers are kept beside the silence: reaching them through the pydantic model (a private
        # attribute) costs more than the match.
        self._parsed: dict[int, tuple[SilenceRow, Silence, Any]] = {}

    def run(self, dispatch: Dispatch) -> None:
        if dispatch.alert.is_resolved:
            return
        pending = dispatch.pending()
        if not pending:
            return
        alert = dispatch.alert
        for row in dispatch.state.silences.in_force(dispatch.now):
            silence, matcher = self._silence(row)
            if matcher.matches(alert):
                reason = silence.reason()
                for notification in pending:
                    dispatch.settle(notification, "suppressed", reason)
                return

    def _silence(self, row: SilenceRow) -> tuple[Silence, Any]:
        cached = self._parsed.get(id(row))
        if cached is not None and cached[0] is row:
            return cached[1], cached[2]
        from prefect_alerts.silences import Silence

        if len(self._parsed) >= PARSED_SILENCES_LIMIT:
            self._parsed.clear()
        silence = Silence.from_row(row)
        matcher = silence.matcher()
        self._parsed[id(row)] = (row, silence, matcher)
        return silence, matcher
