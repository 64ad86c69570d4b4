"""`portraitflow nodes [TYPE] [--json]`: every node type installed (built-ins and plugins), like gst-inspect.

Not for: checking graphs (cli/graph.py). For each type: where it comes from, its ports and their kinds,
how it pairs several inputs, and its options with type, default, range and doc line, all read from
the node's own contract (graph/node.py, graph/options.py's describe_options), so it cannot drift.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
from importlib.metadata import EntryPoint
from typing import Any

from ..graph import registry
from ..graph.errors import ConfigError, ContractError, PortraitflowError
from ..graph.node import Node, Pairing
from ..graph.options import OptionInfo, build_options, describe_options


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("nodes", help="list the node types (built-ins, plugins): ports and options",
                              description="List every installed node type: its ports and kinds, its pairing "
                                          "and its options (type, default, range, doc). With TYPE, that one "
                                          "in detail.")
    p.add_argument("type", nargs="?", help="a node type name, e.g. fringe")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_nodes)


@dataclasses.dataclass
class NodeInfo:
    """A node type's contract as data."""

    type: str
    source: str                      # "module:Class"
    distribution: str | None         # the installed package that registers it (None: this process)
    summary: str
    doc: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    pairing: dict[str, Any] | None
    pairing_from_options: bool
    live: bool | None                # sources, with default options (None: not a source, or unknown)
    options: list[OptionInfo]
    error: str | None = None         # the type could not be loaded
    pace_option: str | None = None   # sources: the option `run --realtime` sets

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["options"] = [o.as_dict() for o in self.options]
        return out


def node_info(type_name: str, target: EntryPoint | type[Node]) -> NodeInfo:
    """Describe one registered type; a type that cannot be imported is described by its error."""
    source = target.value if isinstance(target, EntryPoint) else f"{target.__module__}:{target.__qualname__}"
    dist = getattr(getattr(target, "dist", None), "name", None) if isinstance(target, EntryPoint) else None
    try:
        cls = registry.node_class(type_name)
    except (ConfigError, ContractError) as exc:
        return NodeInfo(type_name, source, dist, "", "", [], [], None, False, None, [], error=str(exc))
    pace_option = cls.pace_option if not cls.inputs else None
    doc = (cls.__doc__ or "").strip() if "__doc__" in vars(cls) else ""
    if not doc:   # no class docstring: the module's says what the node is for
        doc = (getattr(inspect.getmodule(cls), "__doc__", None) or "").strip()
    defaults = _default_options(cls)
    pairing = cls.pairing
    if defaults is not None and cls.inputs:
        pairing = cls.pairing_for(defaults)
    from_options = cls.pairing_for.__func__ is not Node.pairing_for.__func__  # type: ignore[attr-defined]
    live = None
    if not cls.inputs and defaults is not None:
        live = bool(cls.live_for(defaults))
    primary = pairing.primary if pairing else None
    inputs = [{"port": port, "kind": kind.name, "optional": port in cls.optional_inputs,
               "primary": port == primary} for port, kind in cls.inputs.items()]
    outputs = [{"port": port, "kind": kind.name} for port, kind in cls.outputs.items()]
    return NodeInfo(type_name, source, dist, _first_sentence(doc), doc, inputs, outputs,
                    dataclasses.asdict(pairing) if isinstance(pairing, Pairing) else None, from_options,
                    live, describe_options(cls.Options), pace_option=pace_option)


def _first_sentence(doc: str, limit: int = 110) -> str:
    paragraph = " ".join(doc.split("\n\n")[0].split())
    end = paragraph.find(". ")
    sentence = paragraph if end < 0 else paragraph[:end + 1]
    return sentence if len(sentence) <= limit else sentence[:limit - 3].rstrip() + "..."


def _default_options(cls: type[Node]) -> Any:
    try:
        return build_options(cls.Options, {})
    except PortraitflowError:
        return None          # a required option (e.g. a path): no default instance


def all_node_info() -> list[NodeInfo]:
    return [node_info(name, target) for name, target in sorted(registry.available().items())]


def _nodes(args: argparse.Namespace) -> int:
    known = registry.available()
    if args.type:
        if args.type not in known:
            raise ConfigError(f"unknown node type {args.type!r} (known types: {', '.join(sorted(known))})")
        info = node_info(args.type, known[args.type])
        print(json.dumps(info.as_dict(), indent=2, default=repr) if args.json else _detail(info))
        return 0
    infos = all_node_info()
    if args.json:
        print(json.dumps([i.as_dict() for i in infos], indent=2, default=repr))
    else:
        print("\n".join(_brief(i) for i in infos))
        print(f"\n{len(infos)} node types. `portraitflow nodes TYPE` shows one in detail.")
    return 0


def _ports(info: NodeInfo) -> str:
    def port(p: dict) -> str:
        extra = [w for w, on in (("primary", p.get("primary") and len(info.inputs) > 1),
                                 ("optional", p.get("optional"))) if on]
        return f"{p['port']} ({p['kind']}{', ' + ', '.join(extra) if extra else ''})"
    ins = ", ".join(port(p) for p in info.inputs) or "none (a source)"
    outs = ", ".join(port(p) for p in info.outputs) or "none (a sink)"
    return f"in: {ins}   out: {outs}"


def _pairing(info: NodeInfo, brief: bool = False) -> str | None:
    if not info.pairing or len(info.inputs) < 2:
        return None
    p = info.pairing
    if brief:
        wait = "no limit" if p["wait_ms"] is None else f"{p['wait_ms']:g} ms"
        return (f"{p['primary']} drives (wait {wait}, max age {p['max_age_ms']:g} ms"
                + (", from the options)" if info.pairing_from_options else ")"))
    wait = "as long as it takes" if p["wait_ms"] is None else f"up to {p['wait_ms']:g} ms"
    text = (f"{p['primary']} drives; each other input waits {wait} for the same timestamp (forever on "
            f"block edges), else takes the newest packet at most {p['max_age_ms']:g} ms older, else None")
    return text + (" (defaults shown: set by the options)" if info.pairing_from_options else "")


def _range(o: OptionInfo) -> str:
    if o.low is None and o.high is None:
        return ""
    low = "" if o.low is None else f"{'(' if o.low_exclusive else '['}{o.low:g}"
    high = "" if o.high is None else f"{o.high:g}]"
    return f"{low or '(-inf'}, {high or 'inf)'}"


def _default(o: OptionInfo) -> str:
    if o.required:
        return "required"
    return "= " + json.dumps(o.default, default=repr, ensure_ascii=False)


def _brief(info: NodeInfo) -> str:
    head = f"{info.type}  [{info.distribution or 'registered in this process'}]"
    if info.error:
        return f"{head}\n  cannot be loaded: {info.error}"
    lines = [f"{head}  {info.summary}", f"  {_ports(info)}"]
    pairing = _pairing(info, brief=True)
    if pairing:
        lines.append(f"  pairing: {pairing}")
    if info.options:
        items = []
        for o in info.options:
            rng = _range(o)
            items.append(f"{o.name} {_default(o)}{' ' + rng if rng else ''}")
        lines.append("  options: " + "; ".join(items))
    return "\n".join(lines)


def _detail(info: NodeInfo) -> str:
    lines = [f"{info.type}: {info.summary}" if info.summary else info.type,
             f"  from: {info.source} ({info.distribution or 'registered in this process'})"]
    if info.error:
        lines.append(f"  cannot be loaded: {info.error}")
        return "\n".join(lines)
    rest = info.doc.splitlines()[1:]
    if any(line.strip() for line in rest):
        lines += ["", *("  " + line.strip() if line.strip() else "" for line in rest)]
    lines += ["", "  inputs:"]
    several = len(info.inputs) > 1
    lines += [f"    {p['port']:<12} {p['kind']:<6} " + " ".join(
        w for w, on in (("primary", p["primary"] and several), ("optional", p["optional"])) if on)
        for p in info.inputs] or ["    none (a source)"]
    lines += ["  outputs:"]
    lines += [f"    {p['port']:<12} {p['kind']}" for p in info.outputs] or ["    none (a sink)"]
    pairing = _pairing(info)
    if pairing:
        lines += ["  pairing:", f"    {pairing}"]
    if info.live is not None:
        lines += [f"  live (with default options): {'yes' if info.live else 'no'}"]
    if info.pace_option:
        lines += [f"  paced (run --realtime) by option: {info.pace_option}"]
    lines += ["  options:" if info.options else "  options: none"]
    width = max((len(o.name) for o in info.options), default=0)
    for o in info.options:
        rng = _range(o)
        kind = f"{o.type}" + (f" in {rng}" if rng else "")
        lines.append(f"    {o.name:<{width}}  {kind}  {_default(o)}")
        if o.doc:
            lines.append(f"    {'':<{width}}  {o.doc}")
    return "\n".join(line.rstrip() for line in lines)
