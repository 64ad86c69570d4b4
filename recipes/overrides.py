"""`--set` on a built graph (a recipe's chain or a graph file): `key=value` sets the look setting of the
graph's composite node, `node.option=value` sets the named node's option.

Not for: a recipe's own settings before its graph is built (recipes/loader.py applies those with the
recipe's file name) or validating whole option sets (the graph is checked again when it is resolved).
Errors name the `--set` key: an unknown node, option or setting is refused here, before any frame runs.
"""
from __future__ import annotations

import tomllib
from typing import Any

from ..graph import registry
from ..graph.errors import ConfigError
from ..graph.options import option_fields
from ..graph.spec import GraphSpec
from ..nodes.looks.catalogue import LOOKS, build_settings


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """['title=NIGHT SHIFT', 'fringe.feather=2'] -> {'title': 'NIGHT SHIFT', 'fringe.feather': '2'}."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected KEY=VALUE or NODE.OPTION=VALUE, got {pair!r}", field="--set")
        out[key.strip()] = value
    return out


def split_sets(sets: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(look settings, node options): keys with a dot name a node."""
    look = {k: v for k, v in sets.items() if "." not in k}
    nodes = {k: v for k, v in sets.items() if "." in k}
    return look, nodes


def value_as(tp: Any, text: str) -> Any:
    """A command-line string as an option of type ``tp``: a str stays as typed, anything else is read
    as TOML (numbers, booleans, lists); what TOML cannot read is left for the option's own check."""
    if tp is str or (isinstance(tp, type) and issubclass(tp, str)):
        return text
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text   # e.g. a Literal choice written without quotes: the option's check names it


def apply_sets(spec: GraphSpec, sets: dict[str, str]) -> GraphSpec:
    """Apply `--set` overrides to ``spec`` in place (and return it)."""
    look_sets, node_sets = split_sets(sets)
    if look_sets:
        _set_look_settings(spec, look_sets)
    for key, text in node_sets.items():
        _set_node_option(spec, key, text)
    return spec


def _set_look_settings(spec: GraphSpec, sets: dict[str, str]) -> None:
    composites = [n for n in spec.nodes.values() if n.type == "composite"]
    if not composites:
        key = next(iter(sets))
        raise ConfigError(f"the graph has no composite node whose look {key!r} could set; use "
                          f"--set NODE.OPTION=VALUE (nodes: {', '.join(spec.nodes)})",
                          file=spec.file, field=f"--set {key}")
    for node in composites:
        look = node.options.get("look", "blur")
        if look not in LOOKS:
            raise ConfigError(f"expected one of {', '.join(LOOKS)}, got {look!r}",
                              file=spec.file, node=node.id, field="look")
        fields = option_fields(LOOKS[look].Settings)
        settings = dict(node.options.get("settings", {}))
        for key, text in sets.items():
            if key not in fields:
                raise ConfigError(f"unknown setting {key!r} for look {look!r} of node {node.id!r} "
                                  f"(known: {', '.join(fields)})", file=spec.file, field=f"--set {key}")
            settings[key] = value_as(fields[key][0], text)
        build_settings(look, settings, file=spec.file, node="--set")
        node.options["settings"] = settings


def _set_node_option(spec: GraphSpec, key: str, text: str) -> None:
    node_id, _, option = key.partition(".")
    node = spec.nodes.get(node_id)
    if node is None:
        raise ConfigError(f"unknown node {node_id!r} (nodes: {', '.join(spec.nodes)})",
                          file=spec.file, field=f"--set {key}")
    fields = option_fields(registry.node_class(node.type, file=spec.file, node=node_id).Options)
    if option not in fields:
        raise ConfigError(f"unknown option {option!r} for node {node_id!r} ({node.type}; known: "
                          f"{', '.join(fields) or 'none'})", file=spec.file, field=f"--set {key}")
    node.options[option] = value_as(fields[option][0], text)
