"""The console channel: a readable rendering in the terminal, and the default when nothing is configured."""

from __future__ import annotations

import logging
import sys
import threading
from typing import IO, ClassVar

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.channels.base import Channel, DeliveryResult, run_logger
from prefect_alerts.channels.text import format_value, severity_colour, severity_emoji, severity_label

__all__ = ["ConsoleChannel", "render_plain"]

_PRINT_LOCK = threading.Lock()
_LOG_LEVELS: dict[Severity, int] = {
    Severity.INFO: logging.INFO,
    Severity.SUCCESS: logging.INFO,
    Severity.WARNING: logging.WARNING,
    Severity.ERROR: logging.ERROR,
    Severity.CRITICAL: logging.ERROR,  # logging's CRITICAL means the process is going down; keep it for that
}


def render_plain(alert: Alert) -> str:
    """The alert as plain text lines, for logs and terminals without colour.

    >>> print(render_plain(Alert(title="Load failed", severity="error")).splitlines()[0])
    [ERROR] Load failed
    """
    lines = [f"[{severity_label(alert)}] {alert.title}"]
    if alert.message:
        lines.append(alert.message)
    for key, value in alert.fields.items():
        lines.append(f"  {key}: {format_value(value)}")
    origin = alert.source.describe()
    if origin:
        lines.append(f"source: {origin}")
    for link in alert.links:
        lines.append(f"{link.label}: {link.url}")
    meta = f"event: {alert.event}  dedup_key: {alert.dedup_key}  at: {alert.timestamp.isoformat(timespec='seconds')}"
    if alert.tags:
        meta += "  tags: " + ", ".join(alert.tags)
    lines.append(meta)
    return "\n".join(lines)


class ConsoleChannel(Channel):
    """Prints alerts as a coloured panel (rich) to a terminal, or as plain text.

    Untrusted text is rendered as literal text: rich markup such as ``[bold]`` in a message is shown, never
    interpreted.

    Args:
        file: Where to write; standard error by default (so piped data on stdout stays clean).
        plain: Plain text instead of a panel.
        color: Force colour on (True) or off (False); None lets rich decide (no colour codes when the stream
            is not a terminal).
        width: The panel width; None lets rich decide.
        log: Also write the plain text to the run's logger, so the alert shows in the Prefect UI's logs
            (ERROR for error/critical, WARNING for warning, INFO otherwise); outside a run, to the
            ``prefect_alerts.console`` logger.

    Example:
        ```python
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import ConsoleChannel

        deliver(Alert(title="Backfill done", severity="success"), ConsoleChannel())
        ```
    """

    kind: ClassVar[str] = "console"
    describable: ClassVar[bool] = True

    def __init__(
        self,
        file: IO[str] | None = None,
        *,
        plain: bool = False,
        color: bool | None = None,
        width: int | None = None,
        log: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name)
        self.file = file
        self.log = log
        self.plain = plain
        self.color = color
        self.width = width

    def render(self, alert: Alert) -> Panel:
        """The rich renderable for ``alert``."""
        colour = severity_colour(alert)
        parts: list[object] = []
        if alert.message:
            parts.append(Text(alert.message))
        if alert.fields:
            table = Table(show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
            table.add_column(style="bold")
            table.add_column()
            for key, value in alert.fields.items():
                table.add_row(Text(key), Text(format_value(value)))
            parts.append(table)
        origin = alert.source.describe()
        if origin:
            parts.append(Text(f"source: {origin}", style="dim"))
        for link in alert.links:
            parts.append(Text(f"{link.label}: {link.url}", style="dim"))
        footer = (
            f"{alert.event} · {alert.timestamp.isoformat(timespec='seconds')} · key {alert.dedup_key[:12]}"
        )
        if alert.tags:
            footer += " · " + ", ".join(alert.tags)
        parts.append(Text(footer, style="dim"))
        title = Text(f"{severity_emoji(alert)} {severity_label(alert)}  ", style=f"bold {colour}")
        title.append(Text(alert.title, style="bold"))
        return Panel(Group(*parts), title=title, title_align="left", border_style=colour, expand=False)

    def send(self, alert: Alert) -> DeliveryResult:
        stream = self.file if self.file is not None else sys.stderr
        try:
            with _PRINT_LOCK:
                if self.plain:
                    stream.write(render_plain(alert) + "\n")
                else:
                    console = Console(
                        file=stream,
                        force_terminal=self.color,
                        no_color=self.color is False,
                        width=self.width,
                        highlight=False,
                        soft_wrap=False,
                    )
                    console.print(self.render(alert))
                stream.flush()
            if self.log:
                level = logging.INFO if alert.is_resolved else _LOG_LEVELS[alert.severity]
                run_logger("prefect_alerts.console").log(level, "%s", render_plain(alert))
        except (OSError, ValueError) as exc:  # a closed or broken stream
            return self._result(
                "failed", alert, f"could not write to the console: {type(exc).__name__}: {exc}"
            )
        return self._result("delivered", alert)
