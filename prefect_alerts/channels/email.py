"""Email over SMTP: multipart/alternative (plain text and HTML), inline charts, and TLS that is verified.

This module owns the message: the subject, the text and HTML parts (Jinja2), inline ``cid:`` images, the
``EmailMessage`` with its headers, and ``EmailChannel`` with ``from_block``. The SMTP transport (connection
settings from the ``EmailServerCredentials`` block, SSL/STARTTLS/INSECURE, certificate verification, login
rules, classifying SMTP errors) is ``prefect_alerts.channels.smtp``.

Untrusted text (titles, exception messages, field values, source names, tags) is escaped by Jinja2's
autoescape in the HTML part; subjects and our ``X-Prefect-Alerts-*`` headers are sanitised so nothing can add
a header.
"""

from __future__ import annotations

import email.policy
import email.utils
import secrets
import ssl
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

import jinja2
import markupsafe
from pydantic import SecretStr

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.blocks import AlertEmailDestination, BlockNotFoundError, load_block
from prefect_alerts.channels.base import Channel, DeliveryResult, get_logger, redact, register_secret
from prefect_alerts.channels.smtp import DEFAULT_SMTP_TIMEOUT as DEFAULT_SMTP_TIMEOUT
from prefect_alerts.channels.smtp import SMTP_TYPE_PORTS as SMTP_TYPE_PORTS
from prefect_alerts.channels.smtp import SMTPSettings as SMTPSettings
from prefect_alerts.channels.smtp import SMTPTransport
from prefect_alerts.channels.smtp import SMTPTypeName as SMTPTypeName
from prefect_alerts.channels.text import (
    format_value,
    plain_summary,
    severity_colour,
    severity_emoji,
    severity_label,
    truncate,
)

if TYPE_CHECKING:
    from prefect_email import EmailServerCredentials

__all__ = ["EmailChannel", "SMTPSettings", "sanitize_header"]

logger = get_logger("prefect_alerts.channels.email")

# Limits. SMTP itself has no practical length limit, but people and mail clients do; each has a test.
EMAIL_SUBJECT_LIMIT = 200
"""Characters in the Subject, prefix included; longer subjects end with ``…``."""
EMAIL_TITLE_LIMIT = 1000
"""Characters of the title shown as the heading of the body."""
EMAIL_MESSAGE_LIMIT = 200_000
"""Characters of the alert message in each part (a long traceback fits; a runaway dump does not)."""
EMAIL_FIELDS_MAX = 100
"""Rows in the fields table; the rest are summarised as "…and N more"."""
EMAIL_FIELD_NAME_LIMIT = 200
"""Characters of one field name."""
EMAIL_FIELD_VALUE_LIMIT = 2000
"""Characters of one formatted field value."""
EMAIL_META_LIMIT = 1000
"""Characters of the source, error type and tags lines."""
EMAIL_TABLE_CELL_LIMIT = 300
"""Characters of one cell of an alert's table (the daily report's flow rows)."""
EMAIL_HEADER_VALUE_LIMIT = 255
"""Characters of an ``X-Prefect-Alerts-*`` header value (the dedup key's own maximum)."""
CREDENTIALS_HOW_TO = (
    "`from prefect_email import EmailServerCredentials; EmailServerCredentials("
    "smtp_server='smtp.example.com', smtp_type='STARTTLS', username='alerts@example.com', password='...')"
    ".save('{name}')`"
)
DESTINATION_HOW_TO = (
    "`from prefect_alerts.blocks import AlertEmailDestination; AlertEmailDestination("
    "credentials_block='my-smtp', email_from='alerts@example.com', email_to=['oncall@example.com'])"
    ".save('{name}')`"
)

# Characters that end a header line somewhere (email clients, RFC 5322 parsers, JavaScript-based viewers) or
# reorder what people see (bidi overrides: a title could make "gnp.exe" read as "exe.png").
_LINE_BREAKS = {"\u2028", "\u2029", "\u0085"}
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)}


def _clean_text(text: str) -> str:
    """Body text: lone surrogates replaced, CRLF/CR to LF, other control characters (NUL, ESC...) removed."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def sanitize_header(text: str, limit: int = EMAIL_SUBJECT_LIMIT) -> str:
    """One safe header line: control characters, line breaks (incl. U+2028/2029/0085) and bidi overrides
    become spaces, runs of whitespace collapse to one, and the result is cut to ``limit`` characters ending in
    ``…``.

        >>> sanitize_header("Load failed\\r\\nBcc: evil@example.com\\u2028now")
        'Load failed Bcc: evil@example.com now'
    """
    text = text.encode("utf-8", "replace").decode("utf-8")
    cleaned = "".join(
        " "
        if ch in _LINE_BREAKS or ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        else ch
        for ch in text
    )
    return truncate(" ".join(cleaned.split()), limit, "…")


def _validate_address(value: Any, what: str) -> tuple[str, str]:
    """``(header form, bare address)`` of one address; ValueError naming ``what`` when it is not one."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be an email address such as 'alerts@example.com', got {value!r}")
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _LINE_BREAKS for ch in value):
        raise ValueError(f"{what} must not contain line breaks or control characters: {value!r}")
    pairs = email.utils.getaddresses([value])
    if len(pairs) != 1:
        raise ValueError(f"{what} must be one address (use a list for several recipients), got {value!r}")
    address = pairs[0][1]
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(ch.isspace() for ch in address):
        raise ValueError(
            f"{what} must be an email address such as 'alerts@example.com' or 'Alerts <alerts@example.com>', "
            f"got {value!r}"
        )
    return value.strip(), address


def _address_list(values: str | Sequence[str] | None, what: str) -> list[tuple[str, str]]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [_validate_address(value, f"{what}[{index}]") for index, value in enumerate(values)]


# ---------------------------------------------------------------------------------------------------------
# The HTML part. Inline CSS and tables only (Outlook, Gmail and Apple Mail drop <style> blocks or parts of
# them); no external assets; every variable is autoescaped.
# ---------------------------------------------------------------------------------------------------------
_MONO = markupsafe.Markup("Menlo,Consolas,'Liberation Mono','Courier New',monospace")  # ours: not escaped
_HTML_TEMPLATE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light only">
<title>{{ subject }}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<div style="display:none;max-height:0;overflow:hidden;mso-hide:all;">{{ preheader }}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" \
style="background-color:#f4f5f7;">
<tr><td align="center" style="padding:16px 8px;">
<table role="presentation" width="640" cellpadding="0" cellspacing="0" border="0" \
style="width:100%;max-width:640px;background-color:#ffffff;border:1px solid #dddddd;\
border-collapse:collapse;font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:14px;\
line-height:1.5;color:#1d1c1d;">
<tr><td style="background-color:{{ colour }};color:{{ header_text }};padding:14px 20px;">
<div style="font-size:12px;font-weight:bold;letter-spacing:1px;">{{ emoji }} {{ label }}</div>
<div style="font-size:20px;font-weight:bold;line-height:1.3;margin-top:4px;">{{ title }}</div>
</td></tr>
{% if resolved %}
<tr><td style="padding:14px 20px 0 20px;font-weight:bold;color:#1a7f37;">\
RESOLVED: this alert has cleared; no action is needed.</td></tr>
{% endif %}
{% if message %}
<tr><td style="padding:16px 20px 0 20px;">
<pre style="margin:0;padding:12px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere;\
font-family:{{ mono }};font-size:13px;line-height:1.45;background-color:#f6f8fa;border:1px solid #e1e4e8;\
color:#1d1c1d;">{{ message }}</pre>
</td></tr>
{% endif %}
{% for image in images %}
<tr><td style="padding:16px 20px 0 20px;">\
<img src="cid:{{ image.cid }}" alt="{{ image.alt }}" width="600" \
style="display:block;width:100%;max-width:600px;height:auto;border:0;"></td></tr>
{% endfor %}
{% for table in tables %}
<tr><td style="padding:16px 20px 0 20px;">
<div style="font-weight:bold;margin:0 0 6px 0;">{{ table.title }}</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" \
style="border-collapse:collapse;font-size:13px;">
<tr>{% for column in table.columns %}<th align="{{ 'left' if loop.first else 'right' }}" \
style="padding:4px 6px;border-bottom:2px solid #dddddd;color:#616061;font-weight:bold;">{{ column }}</th>\
{% endfor %}</tr>
{% for row in table.rows %}
<tr>{% for cell in row %}<td align="{{ 'left' if loop.first else 'right' }}" \
style="padding:4px 6px;border-bottom:1px solid #eeeeee;word-break:break-word;">{{ cell }}</td>{% endfor %}</tr>
{% endfor %}
</table>
{% if table.note %}
<div style="font-size:12px;color:#616061;margin-top:4px;">{{ table.note }}</div>
{% endif %}
</td></tr>
{% endfor %}
{% if fields %}
<tr><td style="padding:16px 20px 0 20px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" \
style="border-collapse:collapse;font-size:14px;">
{% for name, value in fields %}
<tr><td width="35%" style="padding:6px 12px 6px 0;border-bottom:1px solid #eeeeee;color:#616061;\
vertical-align:top;word-break:break-word;">{{ name }}</td>\
<td style="padding:6px 0;border-bottom:1px solid #eeeeee;vertical-align:top;font-family:{{ mono }};\
word-break:break-word;white-space:pre-wrap;">{{ value }}</td></tr>
{% endfor %}
</table>
</td></tr>
{% endif %}
{% if links %}
<tr><td style="padding:16px 20px 0 20px;">
{% for link in links %}
<a href="{{ link.url }}" style="display:inline-block;margin:0 8px 8px 0;padding:8px 14px;\
background-color:#1d1c1d;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold;">\
{{ link.label }}</a>
{% endfor %}
</td></tr>
{% endif %}
<tr><td style="padding:16px 20px 0 20px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" \
style="border-collapse:collapse;font-size:13px;color:#616061;">
{% for name, value in meta %}
<tr><td width="20%" style="padding:2px 12px 2px 0;vertical-align:top;">{{ name }}</td>\
<td style="padding:2px 0;vertical-align:top;color:#1d1c1d;word-break:break-word;">{{ value }}</td></tr>
{% endfor %}
</table>
</td></tr>
<tr><td style="padding:16px 20px;font-size:11px;color:#8d8d8d;">\
dedup key: <span style="font-family:{{ mono }};">{{ dedup_key }}</span> &middot; sent by prefect-alerts\
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""
_JINJA = jinja2.Environment(
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
)
_HTML = _JINJA.from_string(_HTML_TEMPLATE)


class _Table(NamedTuple):
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str


def _tables(alert: Alert) -> list[_Table]:
    """The alert's tables with every cell cleaned and cut (they may hold flow names and error messages)."""

    def cell(text: str) -> str:
        return truncate(" ".join(_clean_text(text).split()), EMAIL_TABLE_CELL_LIMIT, "…")

    return [
        _Table(
            cell(table.title),
            [cell(column) for column in table.columns],
            [[cell(value) for value in row] for row in table.rows],
            cell(table.note),
        )
        for table in alert.tables
    ]


def _text_table(table: _Table) -> list[str]:
    """A table as aligned plain-text columns: first column left, the numbers right."""
    widths = [
        max(len(row[index]) for row in [table.columns, *table.rows]) for index in range(len(table.columns))
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            value.ljust(width) if index == 0 else value.rjust(width)
            for index, (value, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [table.title + ":", "  " + line(table.columns)]
    lines += ["  " + line(row) for row in table.rows]
    if table.note:
        lines.append("  " + table.note)
    return lines


def _preheader(alert: Alert) -> str:
    """The inbox preview line: the subject is already shown, so the message's first line (or the source)."""
    first = next((line.strip() for line in _clean_text(alert.message).splitlines() if line.strip()), "")
    text = first or alert.source.describe()
    return truncate(" ".join(text.split()), 150, "…") if text else plain_summary(alert, 150)


def _text_on(colour: str) -> str:
    """White or near-black, whichever reads better on the header colour (amber needs dark text)."""
    red, green, blue = (int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#1d1c1d" if luminance > 0.55 else "#ffffff"


def _content_transfer_encoding(text: str) -> str | None:
    """None (7bit) for short ASCII lines; otherwise quoted-printable, or base64 for mostly non-ASCII text.

    The SMTP policy would pick ``8bit``, and smtplib does not announce ``BODY=8BITMIME``; a 7-bit encoding is
    valid everywhere.
    """
    if text.isascii() and all(len(line) <= 78 for line in text.splitlines()):
        return None
    non_ascii = sum(1 for ch in text if ord(ch) > 127)
    return "base64" if non_ascii > len(text) * 0.3 else "quoted-printable"


@dataclass(frozen=True)
class _Image:
    cid: str
    alt: str


class EmailChannel(Channel):
    """Sends alerts as email through an SMTP server described by a prefect-email ``EmailServerCredentials``.

    Each message is ``multipart/alternative`` (plain text and HTML); when the alert carries images (the daily
    report's charts), the HTML part is ``multipart/related`` and shows them inline via ``cid:``. Firing and
    resolved mails share ``References``, so most clients thread them.

    Transport security follows ``smtp_type``: ``SSL`` (implicit TLS, port 465), ``STARTTLS`` (port 587; a
    server that does not offer STARTTLS is refused before any credential is sent) or ``INSECURE`` (plaintext,
    port 25: the only mode in which a login may travel unencrypted, because the block asked for it).
    Certificates are verified with ``ssl.create_default_context()`` (add a corporate CA with
    ``SSL_CERT_FILE``) unless the block has ``verify=False`` or an ``ssl_context`` is given.

    Results: ``delivered``; ``retry`` for SMTP 4xx replies, disconnects, timeouts and refused connections;
    ``failed`` for 5xx replies (``status_code`` holds the SMTP code), certificate and TLS errors, and a
    missing STARTTLS.

    Partial refusal: when the server accepts some recipients and refuses others, the message has reached the
    accepted ones and a retry would send it to them again, so the result is ``failed`` (not ``retry``), with
    ``status_code`` the first refused code and a detail naming every refused address and its reply. A partial
    delivery must be looked at, not repeated. (Addresses are not secrets.)

    Args:
        credentials: A prefect-email ``EmailServerCredentials`` (server, type, port, login, verify).
        email_from: The sender, ``alerts@example.com`` or ``Alerts <alerts@example.com>``.
        email_to: The recipients (a string for one).
        cc: Carbon-copy recipients.
        subject_prefix: Put before every subject.
        name: How results and logs name this channel.
        timeout: Seconds for each connect, handshake and SMTP reply.
        ssl_context: Used for TLS instead of ``ssl.create_default_context()`` (a pinned CA, client certs).
        subject_emoji: Put the severity emoji in the subject.

    Example:
        ```python
        from prefect_email import EmailServerCredentials
        from prefect_alerts import Alert, deliver
        from prefect_alerts.channels import EmailChannel

        email = EmailChannel(
            credentials=EmailServerCredentials(
                smtp_server="smtp.example.com", smtp_type="STARTTLS", username="alerts", password="..."
            ),
            email_from="Prefect alerts <alerts@example.com>",
            email_to=["oncall@example.com"],
        )
        deliver(Alert(title="Nightly load failed", severity="error"), email)
        # or, from saved blocks:
        email = EmailChannel.from_block("oncall-email")
        ```
    """

    kind: ClassVar[str] = "email"
    describable: ClassVar[bool] = True
    service: ClassVar[str] = "SMTP server"

    def __init__(
        self,
        credentials: EmailServerCredentials,
        email_from: str,
        email_to: str | Sequence[str],
        cc: str | Sequence[str] | None = None,
        subject_prefix: str = "[prefect-alerts]",
        name: str | None = None,
        timeout: float = DEFAULT_SMTP_TIMEOUT,
        *,
        ssl_context: ssl.SSLContext | None = None,
        subject_emoji: bool = True,
    ) -> None:
        super().__init__(name=name)
        self.settings = SMTPSettings.from_credentials(credentials)
        password = getattr(credentials, "password", None)
        if isinstance(password, SecretStr):
            password = password.get_secret_value()
        self._password = SecretStr(password or "")
        register_secret(self._password.get_secret_value())

        self.email_from, self._envelope_from = _validate_address(email_from, "email_from")
        to = _address_list(email_to, "email_to")
        if not to:
            raise ValueError("email_to needs at least one recipient address")
        copies = _address_list(cc, "cc")
        self.email_to = [header for header, _ in to]
        self.cc = [header for header, _ in copies]
        seen: dict[str, str] = {}
        for _, address in to + copies:
            seen.setdefault(address.lower(), address)
        self._envelope_to = list(seen.values())

        self.subject_prefix = sanitize_header(subject_prefix or "", 60)
        self.subject_emoji = subject_emoji
        if not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self.ssl_context = ssl_context
        if not self.settings.verify and ssl_context is None and self.settings.smtp_type != "INSECURE":
            logger.warning(
                "TLS certificate verification is OFF for SMTP server %s (verify=False on the block)",
                self.settings.address,
            )

    @classmethod
    def from_block(cls, name: str, /, **kwargs: Any) -> EmailChannel:
        """Build from a saved ``alert-email-destination`` block and the ``email-server-credentials`` block it
        names in ``credentials_block``. Keyword arguments (``timeout``, ``ssl_context``, ``name``...) are
        passed on.

        Raises:
            BlockNotFoundError: when either block is missing; the message names the type, the name and how to
                create it.
        """
        from prefect_email import EmailServerCredentials

        destination = load_block(name, [AlertEmailDestination], how_to_create=DESTINATION_HOW_TO)
        try:
            credentials = load_block(
                destination.credentials_block, [EmailServerCredentials], how_to_create=CREDENTIALS_HOW_TO
            )
        except BlockNotFoundError as exc:
            raise BlockNotFoundError(
                f"{exc} (The 'alert-email-destination' block {name!r} names it in credentials_block.)"
            ) from None
        kwargs.setdefault("name", f"email:{name}")
        return cls(
            credentials=credentials,
            email_from=destination.email_from,
            email_to=destination.email_to,
            cc=destination.cc,
            subject_prefix=destination.subject_prefix,
            **kwargs,
        )

    def __repr__(self) -> str:
        password = "'***'" if self._password.get_secret_value() else "None"
        return (
            f"{type(self).__name__}(name={self.name!r}, server={self.settings.address!r}, "
            f"smtp_type={self.settings.smtp_type!r}, username={self.settings.username!r}, "
            f"password={password}, email_from={self.email_from!r}, email_to={self.email_to!r}, "
            f"cc={self.cc!r})"
        )

    # ------------------------------------------------------------------ message
    def build_subject(self, alert: Alert) -> str:
        """``[prefect-alerts] 🔴 [ERROR] Nightly load failed``: one line of at most ``EMAIL_SUBJECT_LIMIT``.

        >>> from prefect_email import EmailServerCredentials
        >>> credentials = EmailServerCredentials(smtp_server="localhost")
        >>> channel = EmailChannel(credentials, "a@example.com", "b@example.com")
        >>> channel.build_subject(Alert(title="Load\\r\\nBcc: x@evil.example", severity="error"))
        '[prefect-alerts] 🔴 [ERROR] Load Bcc: x@evil.example'
        """
        parts = [self.subject_prefix]
        if self.subject_emoji:
            parts.append(severity_emoji(alert))
        parts.append(f"[{severity_label(alert)}]")
        parts.append(alert.title)
        return sanitize_header(" ".join(part for part in parts if part), EMAIL_SUBJECT_LIMIT)

    def _fields(self, alert: Alert) -> list[tuple[str, str]]:
        items = list(alert.fields.items())
        shown = items if len(items) <= EMAIL_FIELDS_MAX else items[: EMAIL_FIELDS_MAX - 1]
        rows = [
            (
                truncate(_clean_text(str(key)), EMAIL_FIELD_NAME_LIMIT, "…"),
                truncate(_clean_text(format_value(value)), EMAIL_FIELD_VALUE_LIMIT),
            )
            for key, value in shown
        ]
        if len(items) > len(shown):
            rest = [str(key) for key, _ in items[len(shown) :]]
            rows.append(
                (f"…and {len(rest)} more", truncate(_clean_text(", ".join(rest)), EMAIL_FIELD_VALUE_LIMIT))
            )
        return rows

    def _meta(self, alert: Alert) -> list[tuple[str, str]]:
        meta: list[tuple[str, str]] = []
        origin = alert.source.describe()
        if origin:
            meta.append(("Source", truncate(_clean_text(origin), EMAIL_META_LIMIT)))
        if alert.error_type:
            meta.append(("Error", truncate(_clean_text(alert.error_type), EMAIL_META_LIMIT)))
        meta.append(("Event", alert.event))
        meta.append(("Status", "resolved" if alert.is_resolved else "firing"))
        meta.append(("Time", alert.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC")))
        if alert.tags:
            meta.append(("Tags", truncate(_clean_text(", ".join(alert.tags)), EMAIL_META_LIMIT)))
        return meta

    def render_text(self, alert: Alert) -> str:
        """The text/plain part: heading, message, fields, links, then the details."""
        title = truncate(_clean_text(alert.title), EMAIL_TITLE_LIMIT)
        lines = [f"{severity_emoji(alert)} {severity_label(alert)}: {' '.join(title.split())}", ""]
        if alert.is_resolved:
            lines += ["RESOLVED: this alert has cleared; no action is needed.", ""]
        message = truncate(_clean_text(alert.message.strip("\n")), EMAIL_MESSAGE_LIMIT)
        if message.strip():
            lines += [message, ""]
        for table in _tables(alert):
            lines += [*_text_table(table), ""]
        fields = self._fields(alert)
        if fields:
            lines.append("Fields:")
            lines += [f"  {name}: {value}" for name, value in fields]
            lines.append("")
        if alert.links:
            lines += [f"{_clean_text(link.label)}: {link.url}" for link in alert.links]
            lines.append("")
        width = max(len(name) for name, _ in self._meta(alert))
        lines += [f"{name + ':':<{width + 1}} {value}" for name, value in self._meta(alert)]
        lines += ["", "--", f"dedup key: {alert.dedup_key} · sent by prefect-alerts"]
        return "\n".join(lines) + "\n"

    def render_html(self, alert: Alert, images: Sequence[_Image] = ()) -> str:
        """The text/html part (Jinja2, autoescaped); ``images`` are shown with ``<img src="cid:...">``."""
        colour = severity_colour(alert)
        return _HTML.render(
            subject=self.build_subject(alert),
            preheader=_preheader(alert),
            colour=colour,
            header_text=_text_on(colour),
            emoji=severity_emoji(alert),
            label=severity_label(alert),
            title=truncate(_clean_text(alert.title), EMAIL_TITLE_LIMIT),
            resolved=alert.is_resolved,
            message=truncate(_clean_text(alert.message.strip("\n")), EMAIL_MESSAGE_LIMIT).rstrip(),
            images=list(images),
            tables=_tables(alert),
            fields=self._fields(alert),
            links=[{"url": link.url, "label": _clean_text(link.label)} for link in alert.links],
            meta=self._meta(alert),
            dedup_key=alert.dedup_key,
            mono=_MONO,
        )

    def build_message(self, alert: Alert) -> EmailMessage:
        """The complete message: headers, text/plain + text/html, and inline images as related parts."""
        message = EmailMessage(policy=email.policy.SMTP)
        domain = "".join(
            ch
            for ch in self._envelope_from.rpartition("@")[2]
            if ch.isascii() and (ch.isalnum() or ch in ".-")
        )
        domain = domain or "prefect-alerts.invalid"
        message["Subject"] = self.build_subject(alert)
        message["From"] = self.email_from
        message["To"] = ", ".join(self.email_to)
        if self.cc:
            message["Cc"] = ", ".join(self.cc)
        message["Date"] = email.utils.format_datetime(datetime.now(timezone.utc))
        message["Message-ID"] = email.utils.make_msgid("prefect-alerts", domain=domain)
        # The same thread root for the firing and the resolved mail of one dedup key.
        thread = (
            "<" + "".join(ch for ch in alert.dedup_key if ch.isascii() and ch.isalnum())[:64] + f"@{domain}>"
        )
        if len(thread) > len(f"<@{domain}>"):
            message["References"] = thread
            message["In-Reply-To"] = thread
        # RFC 3834: no out-of-office replies to a machine.
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message["X-Prefect-Alerts-Severity"] = alert.severity.value
        message["X-Prefect-Alerts-Status"] = alert.status.value
        message["X-Prefect-Alerts-Event"] = alert.event
        message["X-Prefect-Alerts-Dedup-Key"] = sanitize_header(alert.dedup_key, EMAIL_HEADER_VALUE_LIMIT)
        if alert.severity == Severity.CRITICAL and not alert.is_resolved:
            message["Importance"] = "high"
            message["X-Priority"] = "1"

        text = self.render_text(alert)
        message.set_content(text, cte=_content_transfer_encoding(text))
        images = [
            # Short ids: a long Content-ID gets folded, which some clients fail to match.
            _Image(cid=f"image{index}.{secrets.token_hex(8)}@prefect-alerts", alt=image.alt)
            for index, image in enumerate(alert.images, start=1)
        ]
        html = self.render_html(alert, images)
        message.add_alternative(html, subtype="html", cte=_content_transfer_encoding(html))
        if alert.images:
            html_part = message.get_payload()[1]  # type: ignore[index]
            for image, shown in zip(alert.images, images, strict=True):
                maintype, _, subtype = image.mime_type.partition("/")
                html_part.add_related(
                    image.data,
                    maintype,
                    subtype,
                    cid=f"<{shown.cid}>",
                    filename=image.name,
                    disposition="inline",
                )
        return message

    # ------------------------------------------------------------------ sending
    def _transport(self) -> SMTPTransport:
        # Built per use from the current attributes, so a changed ``timeout`` or ``ssl_context`` applies.
        return SMTPTransport(self.settings, self._password, self.timeout, self.ssl_context)

    def send(self, alert: Alert) -> DeliveryResult:
        """Deliver ``alert`` once over a new SMTP connection; never raises for a delivery failure."""
        started = time.perf_counter()
        try:
            message = self.build_message(alert)
        except Exception as exc:  # a bug of ours; the caller must still get a result
            logger.exception("email: could not build the message")
            return self._result(
                "failed",
                alert,
                f"could not build the email (a bug in prefect-alerts; please report it): "
                f"{type(exc).__name__}",
                started=started,
            )
        logger.debug(
            "email: sending to %d recipient(s) via %s (%s)",
            len(self._envelope_to),
            self.settings.address,
            self.settings.smtp_type,
        )
        transport = self._transport()
        try:
            refused = transport.send(message, self._envelope_from, self._envelope_to)
        except Exception as exc:
            status, detail, code = self.classify_error(exc)
            logger.debug("email: %s: %s", status, redact(detail))
            return self._result(status, alert, detail, status_code=code, started=started)
        if refused:
            detail, first_code = transport.describe_partial_delivery(refused, len(self._envelope_to))
            return self._result("failed", alert, detail, status_code=first_code, started=started)
        detail = f"accepted by {self.settings.address} for {len(self._envelope_to)} recipient(s)"
        return self._result("delivered", alert, detail, status_code=250, started=started)

    def classify_error(self, exc: BaseException) -> tuple[Literal["retry", "failed"], str, int | None]:
        """Map an exception from connecting or sending to ``(status, detail, smtp_code)``.

        4xx replies, disconnects, timeouts and network errors are retryable; 5xx replies, certificate and TLS
        errors and refusals of ours are permanent.
        """
        return self._transport().classify_error(exc)
