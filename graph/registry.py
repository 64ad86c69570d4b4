"""Find node classes by type name: the entry-point group ``portraitflow.nodes`` (built-ins and plugins).

Not for: building or checking graphs (graph/validate.py). Built-in nodes are declared in the same
group as any plugin, so adding a node is its own file plus one line in pyproject.toml.
"""
from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from .errors import ConfigError, ContractError
from .node import Node

GROUP = "portraitflow.nodes"
_extra: dict[str, type[Node]] = {}
_loaded: dict[str, type[Node]] = {}


def register(type_name: str, node_cls: type[Node]) -> None:
    """Register a node class in this process (tests, notebooks); entry points are the normal way."""
    node_cls.check_contract()
    _extra[type_name] = node_cls
    _loaded.pop(type_name, None)


def available() -> dict[str, EntryPoint | type[Node]]:
    """Every known type name, without importing any node module."""
    found: dict[str, EntryPoint | type[Node]] = {ep.name: ep for ep in entry_points(group=GROUP)}
    found.update(_extra)
    return found


def node_class(type_name: str, *, file: str | None = None, node: str | None = None) -> type[Node]:
    """The class for a type name, imported on first use."""
    if type_name in _loaded:
        return _loaded[type_name]
    known = available()
    target = known.get(type_name)
    if target is None:
        names = ", ".join(sorted(known)) or "none (is portraitflow installed?)"
        raise ConfigError(f"unknown node type {type_name!r} (known types: {names})",
                          file=file, node=node, field="type")
    if isinstance(target, EntryPoint):
        try:
            cls = target.load()
        except ImportError as exc:
            raise ConfigError(f"node type {type_name!r} could not be imported from {target.value}: {exc}",
                              file=file, node=node, field="type") from exc
    else:
        cls = target
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise ContractError(f"node type {type_name!r} ({target}) is not a portraitflow.graph.Node subclass")
    cls.check_contract()
    _loaded[type_name] = cls
    return cls
