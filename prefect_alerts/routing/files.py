"""Routing files: YAML or JSON, with ``${ENV_VAR}`` substituted before parsing.

``${NAME}`` is replaced by the environment variable ``NAME`` (a missing one is an error naming it and the
file); ``$$`` is a literal ``$``; any other ``$`` is left as it is. YAML is read with PyYAML's safe loader,
refusing duplicate keys (a repeated key would otherwise silently replace the first).
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

from prefect_alerts.routing.errors import RoutingError

__all__ = [
    "FileSignature",
    "file_signature",
    "load_team_file",
    "read_config_file",
    "resolve_relative",
    "substitute_env",
]

FileSignature = tuple[int, int]
"""``(mtime_ns, size)``: a file is read again when either changes."""

_REFERENCE = re.compile(r"\$\$|\$\{([^}\n]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def file_signature(path: str | os.PathLike[str]) -> FileSignature | None:
    """The file's ``(mtime_ns, size)``, or None when it does not exist."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


def substitute_env(text: str, source: str, used: dict[str, str] | None = None) -> str:
    """``text`` with every ``${NAME}`` replaced by ``os.environ["NAME"]`` and ``$$`` by ``$``.

        >>> os.environ["TEAM_DEST"] = "email:data-team"
        >>> substitute_env("destinations: [${TEAM_DEST}]  # costs $$0", "example")
        'destinations: [email:data-team]  # costs $0'

    ``used`` collects the variables read and their values (the cache re-reads a file when one changes).

    Raises:
        RoutingError: a variable is not set, or ``${...}`` holds something that is not a variable name; the
            message names the variable, the line and ``source``.
    """
    missing: list[tuple[str, int]] = []
    invalid: list[str] = []

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1).strip()
        line = text.count("\n", 0, match.start()) + 1
        if not _NAME.match(name):
            invalid.append(f"{match.group(0)!r} on line {line}")
            return match.group(0)
        value = os.environ.get(name)
        if value is None:
            missing.append((name, line))
            return match.group(0)
        if used is not None:
            used[name] = value
        return value

    result = _REFERENCE.sub(replace, text)
    if invalid:
        raise RoutingError(
            f"{source}: {', '.join(invalid)} is not a variable reference; write ${{NAME}} (letters, digits, "
            "underscores) or $$ for a literal $"
        )
    if missing:
        first = missing[0][0]
        where = ", ".join(f"{name} (line {line})" for name, line in missing)
        verb = f"variables {where} are" if len(missing) > 1 else f"variable {where} is"
        raise RoutingError(
            f"{source}: environment {verb} not set; set it (e.g. `export {first}=slack:oncall`) "
            f"or remove the ${{{first}}} reference from the file"
        )
    return result


@functools.lru_cache(maxsize=1)
def _strict_loader() -> Any:
    import yaml

    class StrictLoader(yaml.SafeLoader):
        """The safe loader, refusing a key given twice in one mapping."""

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key; the safe loader reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return loader.construct_mapping(node, deep=deep)

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return StrictLoader


def _parse(text: str, path: Path, source: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RoutingError(
                f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            ) from None
    import yaml

    try:
        return yaml.load(text, Loader=_strict_loader())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise RoutingError(
            f"{source} is not valid YAML: {problem}{where} (check the indentation, and quote values that "
            "start with a special character such as '>=' or '*')"
        ) from None


def read_config_file(path: str | os.PathLike[str], context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mapping in a routing file, after ``${ENV_VAR}`` substitution.

    ``context`` (the validation context) records the file's signature and the variables it used.

    Raises:
        RoutingError: the file is missing or unreadable, a variable is not set, the text is not valid YAML or
            JSON, or it does not hold a mapping.
    """
    file = Path(path).expanduser()
    source = f"routing file {str(file)!r}"
    signature = file_signature(file)
    if signature is None or not file.is_file():
        raise RoutingError(
            f"{source} not found; check the path (relative paths start in {os.getcwd()!r}), or create it "
            "(docs/configuration.md has an example)"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RoutingError(f"{source} cannot be read: {type(exc).__name__}: {exc}") from None
    used: dict[str, str] = {}
    data = _parse(substitute_env(text, source, used), file, source)
    if context is not None:
        context.setdefault("files", {})[str(file.resolve())] = signature
        context.setdefault("env", {}).update(used)
    if data is None:
        raise RoutingError(f"{source} is empty; write at least `default: [console]` (docs/configuration.md)")
    if not isinstance(data, dict):
        raise RoutingError(
            f"{source} must hold a mapping (keys such as defaults, routes, default), not a {type(data).__name__}"
        )
    return data


def resolve_relative(path: str, context: Any) -> str:
    """``path`` made absolute, relative to the directory of the file being read (else the working directory)."""
    base = context.get("base_dir") if isinstance(context, dict) else None
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = Path(base or os.getcwd()) / candidate
    return str(candidate.resolve())


def load_team_file(path: str, context: dict[str, Any]) -> Any:
    """A team's routes and default from its own routing file (only ``routes`` and ``default`` are allowed)."""
    from pydantic import ValidationError

    from prefect_alerts.routing.errors import routing_error
    from prefect_alerts.routing.models import TeamRoutes

    data = read_config_file(path, context)
    inner = {**context, "base_dir": str(Path(path).parent)}
    try:
        loaded = TeamRoutes.model_validate(data, context=inner)
    except ValidationError as exc:
        raise routing_error(exc, f"team routing file {path!r}", TeamRoutes) from None
    context.setdefault("bare_names", {}).update(inner.get("bare_names", {}))
    return loaded
