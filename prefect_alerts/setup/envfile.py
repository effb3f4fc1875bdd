"""Reading a ``.env`` file: ``KEY=value`` lines, as docker compose and python-dotenv write them.

What a line may be:

- blank, or a comment starting with ``#``;
- ``KEY=value`` or ``export KEY=value``; spaces around ``=`` are allowed; ``KEY`` is letters, digits and ``_``;
- an unquoted value runs to the end of the line or to `` #`` (a ``#`` after a space starts a comment; one
  inside the value, as in ``a#b``, does not); surrounding spaces are dropped;
- ``'single quoted'``: taken literally;
- ``"double quoted"``: ``\\"``, ``\\\\``, ``\\n``, ``\\r`` and ``\\t`` are escapes, any other backslash stays;
- after a closing quote only spaces and a comment may follow.

Values are never expanded (``${OTHER}`` stays as written: a secret may contain ``$``) and never span lines. A
key given twice keeps the last value, with a warning naming both lines. Anything else is an
:class:`EnvFileError` naming the file and the line number, never the line's text: a malformed line is often a
pasted secret.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel

from prefect_alerts.setup.validation import SetupError

__all__ = ["EnvEntry", "EnvFile", "EnvFileError", "parse_env_text", "read_env_file"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EXPORT = re.compile(r"export\s+")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


class EnvFileError(SetupError):
    """A ``.env`` file that cannot be read: the message names the file and the line, never its text."""


class EnvEntry(NamedTuple):
    """One ``KEY=value`` line: the value and its line number (1-based)."""

    value: str
    line: int


class EnvFile(BaseModel):
    """A parsed ``.env`` file."""

    label: str
    """How messages name the file (the path as given, e.g. ``.env``)."""
    entries: dict[str, EnvEntry]
    warnings: list[str] = []


def _quoted(text: str, quote: str, where: str) -> tuple[str, str]:
    """``(value, rest of the line)`` for text that starts with a quote."""
    value: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(value), text[index + 1 :]
        if char == "\\" and quote == '"' and index + 1 < len(text):
            escaped = text[index + 1]
            value.append(_ESCAPES.get(escaped, "\\" + escaped))
            index += 2
            continue
        value.append(char)
        index += 1
    raise EnvFileError(
        f"{where}: the {'double' if quote == chr(34) else 'single'} quote is not closed on the same line "
        "(values cannot span lines)"
    )


def _value(raw: str, where: str) -> str:
    text = raw.strip()
    if text[:1] in ("'", '"'):
        value, rest = _quoted(text, text[0], where)
        rest = rest.strip()
        if rest and not rest.startswith("#"):
            raise EnvFileError(
                f"{where}: text after the closing quote; put a comment after ' #' or quote it all"
            )
        return value
    comment = re.search(r"\s#", raw)  # on the raw text: in `KEY= # note` the value is empty
    return (raw[: comment.start()] if comment else raw).strip()


def parse_env_text(text: str, label: str = ".env") -> EnvFile:
    """Parse the text of a ``.env`` file.

    >>> parse_env_text('export A="x y" # note\\nB=\\'$1\\'\\n# comment\\nC=plain#kept').entries["C"].value
    'plain#kept'

    Raises:
        EnvFileError: a line is not ``KEY=value`` (the message names the line number, not its text).
    """
    entries: dict[str, EnvEntry] = {}
    warnings: list[str] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{label} line {number}"
        if export := _EXPORT.match(line):
            line = line[export.end() :]
        key, equals, rest = line.partition("=")
        key = key.strip()
        if not equals:
            raise EnvFileError(f"{where} is not KEY=value (no '='); comment it out with '#' or fix it")
        if not _KEY.fullmatch(key):
            raise EnvFileError(
                f"{where}: the name before '=' must be letters, digits and _ (e.g. PREFECT_ALERTS_SMTP_PORT)"
            )
        value = _value(rest, where)
        if key in entries:
            warnings.append(
                f"{key} is set on {label} lines {entries[key].line} and {number}; the last one is used"
            )
        entries[key] = EnvEntry(value, number)
    return EnvFile(label=label, entries=entries, warnings=warnings)


def read_env_file(path: str | os.PathLike[str]) -> EnvFile:
    """Read and parse a ``.env`` file (UTF-8).

    Example:
        ```python
        from prefect_alerts.setup import read_env_file

        env = read_env_file(".env")
        sorted(env.entries)  # ['PREFECT_ALERTS_SLACK_WEBHOOK_URL', ...]
        ```

    Raises:
        EnvFileError: the file is missing, unreadable, not UTF-8, or has a malformed line.
    """
    file = Path(path).expanduser()
    label = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvFileError(
            f"--env-file {label}: no such file; check the path, or copy .env.example"
        ) from None
    except UnicodeDecodeError:
        raise EnvFileError(f"--env-file {label} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise EnvFileError(
            f"--env-file {label} cannot be read ({type(exc).__name__}: {exc.strerror})"
        ) from None
    parsed = parse_env_text(text, label)
    if os.name == "posix" and file.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        parsed.warnings.append(f"{label} can be read by other users; it holds secrets: chmod 600 {label}")
    return parsed
