"""Fitting a webhook body under its size limit: what is cut, in which order, and how the body says so.

A body at or under the limit is sent exactly as built. One over it is cut in steps, each run only while the
encoded body is still too large (docs/webhook-schema.md, "Size limit and truncation"):

1. field names and tags longer than :data:`WEBHOOK_NAME_LIMIT` characters are cut;
2. the content (the message, field values, image alt texts) is cut to a common size, largest first, so
   short values survive whole; a cut value is a string ending in the visible ``… [truncated]`` marker
   (a list or object becomes the start of its JSON text);
3. whole fields are left out (largest first), then tags and image entries from the end;
4. only then the identity: the title, the source names and ids and the error type are cut, and links are
   left out, largest first. Severity, event, status, timestamp and dedup key are never touched.

The body then carries ``"truncated": true`` and a ``"truncation"`` record (:class:`WebhookTruncation`).
Sizes are bytes of the exact UTF-8 JSON that is sent; text is cut between characters, never inside one.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from prefect_alerts.channels.text import TRUNCATION_MARKER

__all__ = [
    "WEBHOOK_BODY_LIMIT",
    "WEBHOOK_MIN_BODY_LIMIT",
    "WEBHOOK_NAME_LIMIT",
    "WebhookTruncation",
    "check_body_limit",
    "encode_body",
    "fit_body",
]

WEBHOOK_BODY_LIMIT = 64 * 1024
"""Default largest body, in bytes of the encoded UTF-8 JSON (64 KiB): what most receivers, queues and
serverless front doors accept, and far more than a person reads."""
WEBHOOK_MIN_BODY_LIMIT = 4 * 1024
"""The smallest limit that can be configured: room for the fields that are never cut (a dedup key may be
255 escaped characters) and the truncation record."""
WEBHOOK_NAME_LIMIT = 200
"""Characters a field name or a tag keeps when the body is over the limit (a longer one is cut)."""

_CONTENT_FLOOR = 128
"""Encoded bytes (quotes and marker included) a cut content value keeps before fields are left out."""
_IDENTITY_FLOOR = 48
"""Encoded bytes a cut title, source value or error type keeps in the last step (about 30 characters)."""
_RECORD_PREFIX = ',"truncated":true,"truncation":'

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
"""Built once; the same options as ``json.dumps`` in :func:`encode_body`, so sizes are exact."""


class WebhookTruncation(BaseModel):
    """The ``truncation`` record of a body that was cut to fit (``"truncated": true`` sits next to it).

    >>> WebhookTruncation(limit_bytes=65536, original_bytes=102_460, cut=["/alert/message"], cut_count=1)
    WebhookTruncation(limit_bytes=65536, original_bytes=102460, cut=['/alert/message'], cut_count=1, removed={})
    """

    limit_bytes: int = Field(description="The limit the body was fitted to.")
    original_bytes: int = Field(description="The size the body would have had uncut.")
    cut: list[str] = Field(
        description="JSON Pointers (RFC 6901) into this body of the values (or field names) that were cut, "
        "in document order; may list only the first ones when many were cut (see cut_count)."
    )
    cut_count: int = Field(description="How many values and names were cut in all.")
    removed: dict[str, int] = Field(
        default_factory=dict,
        description="How many entries were left out, by array or object: fields, tags, links, images.",
    )


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON. A lone surrogate becomes ``?`` (never raises).

    >>> encode_body({"title": "Échec", "n": 1})
    b'{"title":"\\xc3\\x89chec","n":1}'
    """
    return _ENCODER.encode(body).encode("utf-8", "replace")


def check_body_limit(limit: object) -> int:
    """``limit`` as a number of bytes, or a ValueError saying what is allowed.

    >>> check_body_limit(8192)
    8192
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < WEBHOOK_MIN_BODY_LIMIT:
        raise ValueError(
            f"body_limit must be a whole number of bytes, at least {WEBHOOK_MIN_BODY_LIMIT:,} (got {limit!r}); "
            f"leave it unset for the default of {WEBHOOK_BODY_LIMIT:,} bytes (64 KiB)"
        )
    return limit


def fit_body(body: Mapping[str, Any], limit: int = WEBHOOK_BODY_LIMIT) -> tuple[dict[str, Any], bytes]:
    """A body from ``build_body`` fitted to ``limit`` bytes, and its encoding (what is sent and signed).

    Under the limit the body comes back unchanged (no ``truncated`` key). ``body`` itself is never modified.

    >>> from prefect_alerts.alert import Alert
    >>> from prefect_alerts.channels.webhook import build_body
    >>> fitted, data = fit_body(build_body(Alert(title="Load failed", message="x" * 100_000)))
    >>> len(data) <= 65536, fitted["truncated"], fitted["truncation"]["cut"]
    (True, True, ['/alert/message'])
    >>> fitted["alert"]["message"][-13:]
    '… [truncated]'
    """
    limit = check_body_limit(limit)
    data = encode_body(body)
    if len(data) <= limit:
        return dict(body), data
    reserve = min(1024, limit // 8)  # room for the truncation record
    fitter = _Fitter(body)
    for step in fitter.steps():
        over = len(encode_body(fitter.body)) - (limit - reserve)
        if over <= 0:
            break
        step(over)
    fitted = fitter.finish(limit=limit, original_bytes=len(data), reserve=reserve)
    data = encode_body(fitted)
    if len(data) > limit:  # unreachable at or above WEBHOOK_MIN_BODY_LIMIT; a guard against our own bug
        raise RuntimeError(f"webhook body still {len(data):,} bytes after fitting to {limit:,}")
    return fitted, data


def _size(value: Any) -> int:
    return len(_ENCODER.encode(value).encode("utf-8", "replace"))


_MARKER_SIZE = _size(TRUNCATION_MARKER)


def _joined(before: str, after: str) -> bool:
    """True when cutting between these two code points would split what a reader sees as one character."""
    code = ord(after)
    return (
        unicodedata.combining(after) != 0
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (text or emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
        or code == 0x200D  # zero-width joiner, on either side
        or before == "\u200d"
        or (0xD800 <= ord(before) <= 0xDBFF and 0xDC00 <= code <= 0xDFFF)  # a surrogate pair
    )


def _head(text: str, count: int) -> str:
    """The first ``count`` code points, moved back (a little) so that no character sequence is split."""
    end = count
    while 0 < end < len(text) and count - end < 16 and _joined(text[end - 1], text[end]):
        end -= 1
    if 0 < end < len(text) and _joined(text[end - 1], text[end]):
        end = count  # a sequence longer than 16 code points (hostile): cut where asked
    return text[:end]


def _cut_text(text: str, max_bytes: int) -> str:
    """The longest start of ``text`` plus the marker whose JSON encoding is at most ``max_bytes``."""
    low, high, best = 0, len(text), TRUNCATION_MARKER
    while low <= high:
        middle = (low + high) // 2
        candidate = _head(text, middle) + TRUNCATION_MARKER
        if _size(candidate) <= max_bytes:
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def _cut_name(name: str) -> str:
    return _head(name, WEBHOOK_NAME_LIMIT - len(TRUNCATION_MARKER)) + TRUNCATION_MARKER


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _ENCODER.encode(value)


def _cap(sizes: list[int], over: int, floor: int) -> int:
    """The largest cap (at least ``floor``) such that cutting every size above it saves ``over`` bytes."""
    low, high = floor, max(sizes, default=floor)
    if sum(size - low for size in sizes if size > low) < over:
        return floor  # not enough even at the floor: cut everything to it and let the next step go on
    while low < high:
        middle = (low + high + 1) // 2
        if sum(size - middle for size in sizes if size > middle) >= over:
            low = middle
        else:
            high = middle - 1
    return low


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


class _Fitter:
    """A working copy of the body, cut in place step by step, remembering what it cut and left out."""

    def __init__(self, body: Mapping[str, Any]) -> None:
        alert = dict(body["alert"])
        # Copies of every container a step changes; the values themselves are replaced, never mutated.
        alert["fields"] = dict(alert.get("fields") or {})
        alert["tags"] = list(alert.get("tags") or [])
        alert["links"] = list(alert.get("links") or [])
        alert["source"] = dict(alert.get("source") or {})
        alert["images"] = [dict(image) for image in alert.get("images") or []]
        self.body: dict[str, Any] = {**body, "alert": alert}
        self.alert = alert
        self.whole: Mapping[str, Any] = body["alert"]  # the uncut alert, to give room back to cut text
        self.cut_keys: set[str] = set()  # message, title, error_type
        self.cut_fields: set[str] = set()
        self.cut_tags: set[str] = set()
        self.cut_source: set[str] = set()
        self.cut_images: set[int] = set()
        self.removed: dict[str, int] = {}

    def steps(self) -> list[Callable[[int], None]]:
        return [
            self.cut_names,
            self.cut_content,
            self.leave_out_entries,
            lambda over: self.cut_identity(over, _IDENTITY_FLOOR),
            lambda over: self.cut_identity(over, _MARKER_SIZE),
        ]

    def _remove(self, what: str, count: int = 1) -> None:
        self.removed[what] = self.removed.get(what, 0) + count

    # ---------------------------------------------------------------------------------------------- steps
    def cut_names(self, over: int) -> None:
        fields: dict[str, Any] = {}
        for key, value in self.alert["fields"].items():
            name = _cut_name(key) if len(key) > WEBHOOK_NAME_LIMIT else key
            if name in fields:  # two long names with the same start: keep the first
                self._remove("fields")
                continue
            fields[name] = value
            if name != key:
                self.cut_fields.add(name)
        self.alert["fields"] = fields
        tags: dict[str, None] = {}  # ordered and unique
        for tag in self.alert["tags"]:
            name = _cut_name(tag) if len(tag) > WEBHOOK_NAME_LIMIT else tag
            if name in tags:
                self._remove("tags")
                continue
            tags[name] = None
            if name != tag:
                self.cut_tags.add(name)
        self.alert["tags"] = list(tags)

    def cut_content(self, over: int) -> None:
        fields, images = self.alert["fields"], self.alert["images"]
        slots: list[tuple[str, Any, int]] = [("message", None, _size(self.alert["message"]))]
        slots += [("field", key, _size(value)) for key, value in fields.items()]
        slots += [("alt", index, _size(image.get("alt", ""))) for index, image in enumerate(images)]
        cap = _cap([size for *_, size in slots], over, _CONTENT_FLOOR)
        for kind, where, size in slots:
            if size <= cap:
                continue
            if kind == "message":
                self.alert["message"] = _cut_text(self.alert["message"], cap)
                self.cut_keys.add("message")
            elif kind == "field":
                fields[where] = _cut_text(_as_text(fields[where]), cap)
                self.cut_fields.add(where)
            else:
                images[where]["alt"] = _cut_text(str(images[where].get("alt", "")), cap)
                self.cut_images.add(where)

    def leave_out_entries(self, over: int) -> None:
        fields: dict[str, Any] = self.alert["fields"]
        # Largest entry first ("key":value and its comma); of equal ones, the later first.
        entries = sorted(
            (
                (_size(key) + 1 + _size(value) + 1, position, key)
                for position, (key, value) in enumerate(fields.items())
            ),
            reverse=True,
        )
        for entry_size, _, key in entries:
            if over <= 0:
                return
            del fields[key]
            self.cut_fields.discard(key)
            self._remove("fields")
            over -= entry_size
        for what, items in (("tags", self.alert["tags"]), ("images", self.alert["images"])):
            while over > 0 and items:
                item = items.pop()
                over -= _size(item) + 1
                self._remove(what)
                if what == "tags":
                    self.cut_tags.discard(item)
                else:
                    self.cut_images.discard(len(items))

    def cut_identity(self, over: int, floor: int) -> None:
        source, links = self.alert["source"], self.alert["links"]
        slots: list[tuple[int, str, Any]] = [(_size(self.alert["title"]), "title", None)]
        slots += [(_size(value), "source", key) for key, value in source.items() if isinstance(value, str)]
        if isinstance(self.alert.get("error_type"), str):
            slots.append((_size(self.alert["error_type"]), "error_type", None))
        slots += [(_size(link) + 1, "link", index) for index, link in enumerate(links)]
        dropped: set[int] = set()
        cut: list[tuple[str, Any]] = []
        for size, kind, where in sorted(slots, key=lambda slot: slot[0], reverse=True):
            if over <= 0:
                break
            if kind == "link":  # a cut URL would be a wrong URL: leave the link out instead
                dropped.add(where)
                over -= size
                continue
            if size <= floor:
                continue
            text = _cut_text(self._identity(kind, where), max(floor, size - over))
            over -= size - _size(text)
            self._set_identity(kind, where, text, cut=True)
            cut.append((kind, where))
        if dropped:
            self.alert["links"] = [link for index, link in enumerate(links) if index not in dropped]
            self._remove("links", len(dropped))
        # A link left out after a text was cut may have freed more than was needed: give the room back.
        for kind, where in cut:
            if over >= 0:
                break
            current, whole = _size(self._identity(kind, where)), self._identity(kind, where, whole=True)
            room = current - over
            if _size(whole) <= room:
                self._set_identity(kind, where, whole, cut=False)
                over += _size(whole) - current
            else:
                text = _cut_text(whole, room)
                self._set_identity(kind, where, text, cut=True)
                over += _size(text) - current

    def _identity(self, kind: str, where: Any, *, whole: bool = False) -> str:
        alert = self.whole if whole else self.alert
        return alert["source"][where] if kind == "source" else alert[kind]

    def _set_identity(self, kind: str, where: Any, text: str, *, cut: bool) -> None:
        if kind == "source":
            self.alert["source"][where] = text
            (self.cut_source.add if cut else self.cut_source.discard)(where)
        else:
            self.alert[kind] = text
            (self.cut_keys.add if cut else self.cut_keys.discard)(kind)

    # --------------------------------------------------------------------------------------------- record
    def pointers(self) -> list[str]:
        """Every cut place, as JSON Pointers in the order the body lists them."""
        found: list[str] = []
        for key, value in self.alert.items():
            if key in self.cut_keys:
                found.append(_pointer("alert", key))
            elif key == "fields":
                found += [_pointer("alert", "fields", name) for name in value if name in self.cut_fields]
            elif key == "tags":
                found += [_pointer("alert", "tags", i) for i, tag in enumerate(value) if tag in self.cut_tags]
            elif key == "source":
                found += [_pointer("alert", "source", name) for name in value if name in self.cut_source]
            elif key == "images":
                found += [
                    _pointer("alert", "images", i, "alt") for i in range(len(value)) if i in self.cut_images
                ]
        return found

    def finish(self, *, limit: int, original_bytes: int, reserve: int) -> dict[str, Any]:
        pointers = self.pointers()
        record = WebhookTruncation(
            limit_bytes=limit,
            original_bytes=original_bytes,
            cut=[],
            cut_count=len(pointers),
            removed=dict(sorted(self.removed.items())),
        ).model_dump()
        room = reserve - len(_RECORD_PREFIX) - _size(record)
        for pointer in pointers:  # as many as fit in the record's room; cut_count tells the rest
            cost = _size(pointer) + (1 if record["cut"] else 0)
            if cost > room:
                break
            record["cut"].append(pointer)
            room -= cost
        return {**self.body, "truncated": True, "truncation": record}
