"""The base of the routing config models: compare by their fields, not their compiled caches."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["ConfigModel"]


class ConfigModel(BaseModel):
    """A config model whose equality is its fields' equality.

    The routing models keep compiled forms (globs, the route plan) in private attributes; two configs read from
    a file and from a block are equal when what the user wrote is equal.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BaseModel):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]
