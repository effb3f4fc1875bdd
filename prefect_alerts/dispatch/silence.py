"""Step 2, silence: a firing alert that an active silence matches is suppressed, naming the silence."""

from __future__ import annotations

from typing import ClassVar

from prefect_alerts.dispatch.stage import Dispatch

__all__ = ["SilenceStage"]


class SilenceStage:
    """Suppresses firing alerts matched by an active silence ("silenced by s-42 until 14:05 UTC: ...").

    Resolved alerts pass: whoever was told of the failure before the silence began should hear it is over.
    Silences are read through a one-second per-process cache (``SILENCE_CACHE_SECONDS``).
    """

    name: ClassVar[str] = "silence"

    def run(self, dispatch: Dispatch) -> None:
        from prefect_alerts.silences import Silence

        pending = dispatch.pending()
        if not pending or dispatch.alert.is_resolved:
            return
        for row in dispatch.state.silences.in_force(dispatch.now):
            silence = Silence.from_row(row)
            if silence.matches(dispatch.alert):
                reason = silence.reason()
                for notification in pending:
                    dispatch.settle(notification, "suppressed", reason)
                return
