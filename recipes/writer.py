"""Write a running graph's settings as a recipe file (TOML) that `--recipe PATH` loads back.

Not for: reading recipes (recipes/loader.py). Used by the web preview's "Save as recipe": the look and
its settings come from the composite node, [nodes.ID] from the standard chain's other nodes (options
that differ from the node's defaults only, so the file says what the design changed). The file is read
back with load_recipe before it is kept: what is written is always a valid recipe.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from ..graph.errors import ConfigError
from ..graph.options import option_fields
from .loader import CHAIN, load_recipe

#: a recipe name is a file name: letters, digits, _ and -, no path
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def saved_recipes_dir() -> Path:
    """Where saved recipes go: $XDG_CONFIG_HOME/portraitflow/recipes (~/.config/portraitflow/recipes)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "portraitflow" / "recipes"


def save_running_recipe(directory: Path, name: str, nodes: dict[str, tuple[str, dict[str, Any]]]) -> Path:
    """Write ``directory/NAME.toml`` from the running nodes ({id: (type, options)}); refuses a bad
    name, an existing file and a graph without the standard chain's composite."""
    if not NAME.fullmatch(name):
        raise ConfigError(f"recipe name must be 1-40 letters, digits, '_' or '-' (a file name), got {name!r}")
    composite = nodes.get("composite")
    if composite is None or composite[0] != CHAIN["composite"]:
        raise ConfigError("saving a recipe needs the standard chain's composite node")
    path = Path(directory).expanduser() / f"{name}.toml"
    if path.exists():
        raise ConfigError(f"{path} exists already: choose another name")
    look, settings = composite[1]["look"], composite[1]["settings"]
    node_options: dict[str, dict[str, Any]] = {}
    for node_id, node_type in CHAIN.items():
        if node_id not in nodes or nodes[node_id][0] != node_type:
            continue
        changed = _changed_from_defaults(node_type, nodes[node_id][1])
        if node_id == "composite":
            changed = {k: v for k, v in changed.items() if k not in ("look", "settings")}
        if changed:
            node_options[node_id] = changed
    text = recipe_toml(name, f"saved from the web preview ({look})", look, settings, node_options)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".toml.partial")
    partial.write_text(text, encoding="utf-8")
    try:
        load_recipe(partial.rename(path))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def recipe_toml(name: str, description: str, look: str, settings: dict[str, Any],
                node_options: dict[str, dict[str, Any]]) -> str:
    lines = [f"# {name}: {description}", "[recipe]", f"description = {_value(description)}",
             f"look = {_value(look)}", "", "[settings]"]
    lines += [f"{key} = {_value(value)}" for key, value in settings.items()]
    for node_id, options in node_options.items():
        lines += ["", f"[nodes.{node_id}]"]
        lines += [f"{key} = {_value(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def _changed_from_defaults(node_type: str, options: dict[str, Any]) -> dict[str, Any]:
    from ..graph import registry
    fields = option_fields(registry.node_class(node_type).Options)
    return {k: v for k, v in options.items() if k in fields and fields[k][1] != v}


def _value(value: Any) -> str:
    """A TOML value for plain data (strings, numbers, booleans, lists of them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"a recipe cannot hold the number {value}")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise ConfigError(f"a recipe cannot hold {type(value).__name__} {value!r}")
