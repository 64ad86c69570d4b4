"""Split a graph by its nodes' ``part`` labels: the sub-graph one process runs, with links at the cuts.

Not for: moving packets (graph/transport/). Each edge from part A to part B becomes a link: a
``link_out`` sink in A and a ``link_in`` source in B. Edges from one output to several nodes of
the same other part share one link. Links are numbered in a fixed order (by source node, port and
target part), so every process derives the same numbering from the same graph file; link i uses
the base address plus i (tcp: port + i; ipc: path + "-i"; link 0 uses the base address itself).
Every edge of a part gets the policy and queue size it has in the whole graph, so a split graph
behaves like the same graph in one process (rule of thumb 4).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import ConfigError
from .spec import DropPolicy, EdgeSpec, GraphSpec, NodeSpec
from .validate import resolve


@dataclass(frozen=True)
class Link:
    """One cut: an output of a node in one part, read by nodes of another part."""

    index: int
    source: str
    source_port: str
    source_part: str
    target_part: str
    kind: str                      # "frame", "mask" or "any"
    policy: DropPolicy
    queue_size: int
    edges: tuple[EdgeSpec, ...]    # the original edges into the target part

    @property
    def stream(self) -> str:
        return f"{self.source}.{self.source_port}>{self.target_part}"

    @property
    def out_node(self) -> str:
        return f"to_{self.target_part}_{self.source}_{self.source_port}"

    @property
    def in_node(self) -> str:
        return f"from_{self.source_part}_{self.source}_{self.source_port}"


@dataclass(frozen=True)
class PartSettings:
    """How this process meets the others (from the command line)."""

    bind: str | None = None            # this part binds every link at this base address
    connect: str | None = None         # ... or connects every link to it
    codec: str | None = None           # frame links this part sends: raw|jpeg|h264|shm (default: shm when
                                       # local on Linux (raw until the receiver can map it), raw when local
                                       # elsewhere, jpeg otherwise)
    mask_codec: str | None = None      # mask links this part sends: raw|mask8|shm (default alike)
    secret_key: str = ""
    server_key: str = ""
    allow_keys: str = ""
    insecure: bool = False
    extra: dict = field(default_factory=dict)   # more link options for every link of this part


def part_names(spec: GraphSpec) -> list[str]:
    return sorted({n.part for n in spec.nodes.values() if n.part})


def plan_links(spec: GraphSpec) -> list[Link]:
    """Every link of the graph, numbered; raises ConfigError when some nodes have no part."""
    unlabeled = [n.id for n in spec.nodes.values() if not n.part]
    if unlabeled:
        raise ConfigError(f"to run by parts every node needs a part label; these have none: "
                          f"{', '.join(unlabeled)} (add part = \"NAME\" to them)", file=spec.file,
                          node=unlabeled[0], field="part")
    graph = resolve(spec)
    resolved = {id(e.spec): e for e in graph.edges}
    classes = {n.id: n.cls for n in graph.nodes}
    groups: dict[tuple[str, str, str], list[EdgeSpec]] = {}
    for edge in spec.edges:
        source_part, target_part = spec.nodes[edge.source].part, spec.nodes[edge.target].part
        if source_part != target_part:
            groups.setdefault((edge.source, edge.source_port, target_part), []).append(edge)
    links = []
    for index, key in enumerate(sorted(groups)):
        source, port, target_part = key
        edges = groups[key]
        policies = [resolved[id(e)].policy for e in edges]
        policy = DropPolicy.BLOCK if DropPolicy.BLOCK in policies else DropPolicy.LATEST
        queue = max(resolved[id(e)].queue_size for e in edges)
        links.append(Link(index, source, port, spec.nodes[source].part, target_part,
                          classes[source].outputs[port].name, policy, queue, tuple(edges)))
    return links


def split_part(spec: GraphSpec, part: str, settings: PartSettings = PartSettings()) -> GraphSpec:
    """The graph one process runs for ``part``: its own nodes, a link_out per outgoing link and a
    link_in per incoming link, every edge with an explicit policy and queue size."""
    names = part_names(spec)
    if not names:
        raise ConfigError(f"--part {part}: the graph has no part labels (add part = \"NAME\" to its nodes)",
                          file=spec.file)
    if part not in names:
        raise ConfigError(f"no part {part!r} in the graph (parts: {', '.join(names)})", file=spec.file)
    if settings.bind and settings.connect:
        raise ConfigError("give --bind or --connect, not both")
    links = plan_links(spec)
    graph = resolve(spec)
    resolved = {id(e.spec): e for e in graph.edges}
    out = GraphSpec(name=f"{spec.name}:{part}", policy=spec.policy, queue_size=spec.queue_size, file=spec.file)
    for node in spec.nodes.values():
        if node.part == part:
            out.nodes[node.id] = NodeSpec(node.id, node.type, dict(node.options), node.part)
    for edge in spec.edges:
        if edge.source in out.nodes and edge.target in out.nodes:
            r = resolved[id(edge)]
            out.edges.append(EdgeSpec(edge.source, edge.source_port, edge.target, edge.target_port,
                                      r.policy, r.queue_size))
    for link in links:
        if link.source_part == part:
            _add_link_out(out, spec, link, settings)
        elif link.target_part == part:
            _add_link_in(out, spec, link, settings, resolved)
    return out


def _endpoint(spec: GraphSpec, link: Link, settings: PartSettings, receiving: bool) -> dict:
    if settings.bind:
        address, mode = link_address(settings.bind, link.index), "bind"
    elif settings.connect:
        address, mode = link_address(settings.connect, link.index), "connect"
    else:
        # same host, no addresses given: the receiving end binds an ipc path named after the graph
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", spec.name)
        address = link_address(f"ipc:///tmp/portraitflow-{name}", link.index)
        mode = "bind" if receiving else "connect"
    options = {"address": address, "mode": mode, "stream": link.stream, "insecure": settings.insecure}
    # the binding end is the CURVE server (checks an allow-list), the connecting end the client
    for key in ("secret_key", "allow_keys" if mode == "bind" else "server_key"):
        if getattr(settings, key):
            options[key] = getattr(settings, key)
    options.update(settings.extra)
    return options


def _add_link_out(out: GraphSpec, spec: GraphSpec, link: Link, settings: PartSettings) -> None:
    options = _endpoint(spec, link, settings, receiving=False)
    from .transport.addresses import is_local
    from .transport.shm_ring import shm_supported
    local = is_local(options["address"])
    if link.kind == "mask":
        codec = settings.mask_codec or ("raw" if local else "mask8")
    else:
        codec = settings.codec or (("shm" if shm_supported() else "raw") if local else "jpeg")
    options.update(policy=link.policy.value, codec=codec)
    out.nodes[link.out_node] = NodeSpec(link.out_node, "link_out", options, link.source_part)
    out.edges.append(EdgeSpec(link.source, link.source_port, link.out_node, "packet",
                              link.policy, link.queue_size))


def _add_link_in(out: GraphSpec, spec: GraphSpec, link: Link, settings: PartSettings, resolved: dict) -> None:
    options = _endpoint(spec, link, settings, receiving=True)
    # no window: link_in takes it from the policy in the sender's hello (1 latest, 4 block)
    options.update(kind=link.kind if link.kind in ("frame", "mask") else "any")
    out.nodes[link.in_node] = NodeSpec(link.in_node, "link_in", options, link.target_part)
    for edge in link.edges:
        # each edge keeps its policy and queue size from the whole graph: link_in hands every frame
        # on at once, so on a latest edge its credit comes back at once and a slow consumer starts on
        # the newest frames, exactly as in one process; the sender drops (counted) only when the link
        # itself cannot keep up
        r = resolved[id(edge)]
        out.edges.append(EdgeSpec(link.in_node, "packet", edge.target, edge.target_port, r.policy,
                                  r.queue_size))


def link_address(base: str, index: int) -> str:
    """Link ``index``'s address from a base address (tcp: port + index; ipc: path + '-index')."""
    if index == 0:
        return base
    if base.startswith("tcp://"):
        parts = urlsplit(base)
        if parts.port is None:
            raise ConfigError(f"a tcp address needs a port, got {base!r}")
        host = base[len("tcp://"):base.rindex(":")]
        return f"tcp://{host}:{parts.port + index}"
    if base.startswith(("ipc://", "inproc://")):
        return f"{base}-{index}"
    raise ConfigError(f"expected a tcp://, ipc:// or inproc:// address, got {base!r}")
