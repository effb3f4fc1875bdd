"""Config errors that name the field and the fix."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["RoutingError", "field_path", "routing_error"]


class RoutingError(ValueError):
    """The routing config is invalid or cannot be found; the message names the field (``routes[1].cooldown``)
    and says how to fix it."""


def field_path(location: tuple[int | str, ...]) -> str:
    """``("routes", 0, "match", "severity")`` -> ``routes[0].match.severity``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("function-after", "function-before", "function-plain") or str(part).startswith(
            ("function-", "list[", "union[", "str", "is-instance")
        ):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def routing_error(exc: ValidationError, source: str) -> RoutingError:
    """One readable error for everything pydantic found, prefixed by where the config came from."""
    problems = []
    for error in exc.errors():
        location = tuple(error["loc"])
        path = field_path(location)
        kind = error["type"]
        if kind == "extra_forbidden":
            parent, key = field_path(location[:-1]), location[-1]
            where = "the top level" if parent == "(top level)" else parent
            problems.append(
                f"unknown key {key!r} in {where} (a typo?); see docs/configuration.md for the keys"
            )
            continue
        message = str(error["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if kind == "missing":
            message = "is required"
        problems.append(f"{path}: {message}")
    unique = list(dict.fromkeys(problems))
    return RoutingError(f"invalid routing config ({source}): " + "; ".join(unique))
