"""Config errors that name the field and the fix: ``routes[1].match.severity: 'urgent' is not a severity...``."""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any

__all__ = ["RoutingError", "allowed_keys", "field_path", "mask_urls", "routing_error"]


class RoutingError(ValueError):
    """The routing config is invalid or cannot be found.

    The message names the field (``routes[1].cooldown``) or the file, block or environment variable, and says
    how to fix it.
    """


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s'\"]+)[^\s'\"]*")


def mask_urls(text: str) -> str:
    """Keep only the scheme and host of URLs in ``text``: a webhook URL's path is its secret."""
    return _URL.sub(lambda m: m.group(1) + ("/..." if len(m.group(0)) > len(m.group(1)) else ""), text)


def field_path(location: tuple[int | str, ...]) -> str:
    """``("routes", 0, "match", "severity")`` -> ``routes[0].match.severity``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _model_in(annotation: Any) -> Any:
    """The pydantic model class inside ``list[Model] | None`` and the like, or None."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def _keys(model: Any) -> dict[str, Any]:
    return {(field.alias or name): field for name, field in model.model_fields.items() if not field.exclude}


def allowed_keys(model: Any, location: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``location`` (below ``model``) accepts, in declaration order."""
    current = model
    for part in location:
        if isinstance(part, int):
            continue
        field = _keys(current).get(part)
        nested = _model_in(field.annotation) if field is not None else None
        if nested is None:
            return []
        current = nested
    return list(_keys(current))


_HINTS = {
    "destinations": "a list of references, e.g. [slack:oncall, pagerduty:oncall]",
    "name": "a short name, e.g. data-team",
    "match": "a mapping such as {tags: [team-data]}",
}


def _describe_input(value: Any) -> str:
    text = repr(value)
    return mask_urls(text if len(text) <= 80 else text[:77] + "...")


def _sla_location(location: tuple[int | str, ...]) -> tuple[tuple[int | str, ...], Any]:
    """``slas[0].lateness.within`` (pydantic names the union member) -> ``slas[0].within`` and its model."""
    from prefect_alerts.routing.sla import SLA_CLASSES

    if len(location) >= 3 and location[0] == "slas" and location[2] in SLA_CLASSES:
        return (*location[:2], *location[3:]), SLA_CLASSES[str(location[2])]
    return location, None


def _problem(error: dict[str, Any], model: Any) -> str:
    location, sla_model = _sla_location(tuple(error["loc"]))
    path = field_path(location)
    kind = error["type"]
    value = error.get("input")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        from prefect_alerts.routing.sla import SLA_TYPES

        tag = value.get("type") if isinstance(value, dict) else None
        what = f"type {tag!r} is not an SLA type" if tag is not None else "'type' is required"
        return f"{path}: {what}; write one of {', '.join(SLA_TYPES)}"
    if kind == "extra_forbidden":
        parent, key = location[:-1], str(location[-1])
        where = "at the top level" if not parent else f"in {field_path(parent)}"
        keys = (
            list(_keys(sla_model))
            if sla_model is not None and len(parent) == 2
            else allowed_keys(model, parent)
        )
        close = difflib.get_close_matches(key, keys, n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else " (a typo?)"
        return f"unknown key {key!r} {where}{guess}; allowed keys: {', '.join(keys)}"
    if kind == "missing":
        key = str(location[-1])
        where = field_path(location[:-1])
        hint = f": {_HINTS[key]}" if key in _HINTS else ""
        return f"{where}: {key!r} is required{hint}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        keys = allowed_keys(model, location)
        return f"{path}: expected a mapping with keys {', '.join(keys)}; got {_describe_input(value)}"
    if kind == "list_type":
        return f"{path}: expected a list, e.g. [a, b]; got {_describe_input(value)}"
    if kind.startswith("bool_"):
        return f"{path}: {_describe_input(value)} is not true or false; write true or false"
    if kind.startswith("int_"):
        return f"{path}: {_describe_input(value)} is not a whole number"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{path}: {_describe_input(value)} is too small; {error['msg'].lower()}"
    if kind in ("string_type", "str_type"):
        return f"{path}: expected text; got {_describe_input(value)}"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if kind == "value_error":
        return f"{path}: {mask_urls(message)}"
    return f"{path}: {mask_urls(message)} (got {_describe_input(value)})"


def routing_error(exc: Any, source: str, model: Any) -> RoutingError:
    """One readable :class:`RoutingError` for everything a pydantic ``ValidationError`` found.

    ``source`` says where the config came from (a file, a block); ``model`` is the model validated, used to
    list the allowed keys when a key is unknown.
    """
    errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")  # typos first
    problems = list(dict.fromkeys(_problem(error, model) for error in errors))
    if len(problems) == 1:
        return RoutingError(f"invalid routing config ({source}): {problems[0]}")
    listed = "".join(f"\n  - {problem}" for problem in problems)
    return RoutingError(f"invalid routing config ({source}): {len(problems)} problems:{listed}")
