"""The web preview's control surface: what settings a running graph offers, and changing them live.

Not for: HTTP (web_server.py) or request checks (web_guard.py). Every control is drawn from a node's
typed Options (graph/options.describe_options: type, default, range, choices, doc line) and every change
goes through GraphRunner.set_options, which validates it with the node's own checks: a bad value is a
ConfigError naming the node and field, and the running look stays as it was.
Offered: every processing node of the running graph (sources and sinks are not: a sink's path is not a
thing a page may change), and the current look's settings for a node that has them (the composite:
it says which dataclass its ``settings`` table follows with ``settings_options(options)``).
"""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..graph import ConfigError
from ..graph.options import build_options, describe_options

#: (name, {node id: (node type, options as plain data)}) -> the recipe file written
RecipeSaver = Callable[[str, dict[str, tuple[str, dict[str, Any]]]], Path]
#: options a look node sets through the recipe picker and its settings section, not as its own controls
LOOK_OPTIONS = ("look", "settings")
EDITABLE_KINDS = ("bool", "int", "float", "str", "colour", "choice")


class ControlSurface:
    """The controls of one running graph. ``looks`` maps a recipe name to {node id: options}; choosing
    one sends those options (only what differs). ``version`` grows with every change, so every open
    page knows when to redraw its controls."""

    def __init__(self, looks: dict[str, dict[str, dict]] | None = None, current_look: str | None = None,
                 save_recipe: RecipeSaver | None = None):
        self.looks = dict(looks or {})
        self.current_look = current_look
        self.saver = save_recipe
        self.modified = False          # a setting changed since the recipe was chosen
        self.runner = None
        self._changes = 0
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        """Grows with every change made here and every change the runner undid (the page redraws)."""
        runner = self.runner
        if runner is None:
            return self._changes
        undone = sum(s.counters.get("option_change_undone", 0) for s in runner.stats.nodes.values())
        return self._changes + undone

    # -- what is offered ------------------------------------------------------------------------
    def controllable(self) -> list:
        runner = self._running()
        return [rn for rn in runner.graph.nodes if rn.cls.inputs and rn.cls.outputs]

    def describe(self) -> dict:
        """{"version", "recipe", "recipes", "paused", "can_save", "nodes": [{"id", "type", "options": [...]}],
        "look": {"node", "name", "settings": [...]} or None}; each option: OptionInfo fields + "value"."""
        runner = self._running()
        nodes, look = [], None
        for rn in self.controllable():
            options = runner.current_options(rn.id) or build_options(rn.cls.Options, {})
            settings_class = _settings_class(rn.cls, options)
            rows = []
            for info in describe_options(rn.cls.Options):
                if settings_class is not None and info.name in LOOK_OPTIONS:
                    continue
                rows.append({**info.as_dict(), "value": _plain(getattr(options, info.name)),
                             "editable": info.kind in EDITABLE_KINDS})
            nodes.append({"id": rn.id, "type": rn.type, "options": rows})
            if settings_class is not None and look is None:
                current = dataclasses.asdict(build_options(settings_class, options.settings))
                look = {"node": rn.id, "name": getattr(options, "look", None), "settings": [
                    {**info.as_dict(), "value": _plain(current[info.name]),
                     "editable": info.kind in EDITABLE_KINDS}
                    for info in describe_options(settings_class)]}
        return {"version": self.version, "recipe": self.current_look, "modified": self.modified,
                "undone_changes": dict(runner.undone_changes),
                "recipes": list(self.looks),
                "paused": runner.paused, "can_save": self.saver is not None and look is not None,
                "nodes": nodes, "look": look}

    # -- changes --------------------------------------------------------------------------------
    def set_options(self, node_id: str, options: dict[str, Any] | None = None,
                    settings: dict[str, Any] | None = None) -> dict:
        """Change a node's options and/or (a look node) some of its look's settings; returns what the
        node will run with. Refuses (ConfigError) nodes that are not offered and values the node's
        Options refuse."""
        runner = self._running()
        offered = {rn.id: rn for rn in self.controllable()}
        rn = offered.get(node_id)
        if rn is None:
            raise ConfigError(f"no settings for node {node_id!r} here (nodes with settings: "
                              f"{', '.join(offered) or 'none'})")
        change = dict(options or {})
        with self._lock:
            if settings:
                current = runner.current_options(node_id)
                if _settings_class(rn.cls, current) is None:
                    raise ConfigError(f"node {node_id!r} ({rn.type}) has no look settings")
                change["settings"] = {**current.settings, **settings}
            new = runner.set_options(node_id, change)
            self.modified = True
            self._changes += 1
        return {"node": node_id, "options": {k: _plain(v) for k, v in dataclasses.asdict(new).items()}}

    def switch_look(self, name: str) -> None:
        """Send the recipe's node options to the running graph (only those that differ, so e.g. the
        model is not reloaded when only the composite changes)."""
        if name not in self.looks:
            raise ConfigError(f"unknown recipe {name!r} (expected one of: {', '.join(self.looks) or 'none'})")
        runner = self._running()
        with self._lock:
            for node_id, options in self.looks[name].items():
                current = runner.current_options(node_id)
                values = dataclasses.asdict(current) if current is not None else {}
                changed = {k: v for k, v in options.items() if values.get(k) != v}
                if changed:
                    runner.set_options(node_id, changed)
            self.current_look, self.modified = name, False
            self._changes += 1

    def set_paused(self, paused: bool) -> None:
        runner = self._running()
        runner.pause() if paused else runner.resume()
        with self._lock:
            self._changes += 1

    def save_recipe(self, name: str) -> Path:
        if self.saver is None:
            raise ConfigError("this run cannot save recipes")
        runner = self._running()
        nodes = {}
        for rn in self.controllable():
            options = runner.current_options(rn.id)
            nodes[rn.id] = (rn.type, {k: _plain(v) for k, v in dataclasses.asdict(options).items()})
        return self.saver(name, nodes)

    def _running(self):
        if self.runner is None:
            raise ConfigError("the graph is not running yet")
        return self.runner


def _settings_class(node_cls: type, options: Any) -> type | None:
    describe = getattr(node_cls, "settings_options", None)
    if describe is None or options is None:
        return None
    return describe(options)


def _plain(value: Any) -> Any:
    """JSON-ready: tuples as lists, anything unknown as its text."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
