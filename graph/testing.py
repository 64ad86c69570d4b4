"""Run one node without the runtime, for tests: feed packets, collect what it emits.

Not for: production graphs (graph/runner.py). Pairing here is exact-timestamp only.
"""
from __future__ import annotations

from typing import Any

from .errors import EndOfStream
from .node import Context, Node
from .options import build_options
from .packet import Packet


def make_node(node_cls: type[Node], options: dict[str, Any] | None = None, node_id: str = "node") -> Node:
    node_cls.check_contract()
    return node_cls(node_id, build_options(node_cls.Options, options, node=node_id))


def run_node(node: Node, inputs: dict[str, list[Packet]] | None = None,
             max_packets: int = 10_000) -> dict[str, list[Packet]]:
    """Open the node, call process once per primary packet (or until EndOfStream for a source),
    close it, and return the emitted packets per output port.

    Secondary inputs are paired with the primary by equal capture timestamp (None when absent).
    """
    outputs: dict[str, list[Packet]] = {port: [] for port in node.outputs}

    def emit(port: str, packet: Packet) -> None:
        if port not in outputs:
            raise KeyError(f"{node.id}: emitted on undeclared port {port!r}")
        outputs[port].append(packet)

    ctx = Context(node.id, emit)
    node.open(ctx)
    try:
        if node.is_source:
            for _ in range(max_packets):
                try:
                    node.process(ctx)
                except EndOfStream:
                    break
        else:
            inputs = inputs or {}
            primary = node.pairing.primary if node.pairing else next(iter(node.inputs))
            by_ts = {port: {p.capture_ts_ns: p for p in packets} for port, packets in inputs.items()}
            for packet in inputs.get(primary, []):
                ctx.inputs = {port: (packet if port == primary else by_ts.get(port, {}).get(packet.capture_ts_ns))
                              for port in node.inputs}
                node.process(ctx)
    finally:
        node.close(ctx)
    return outputs


def packets(payloads: list[Any], start_ns: int = 1_000_000_000, period_ns: int = 33_333_333) -> list[Packet]:
    """Packets with increasing timestamps and sequence numbers for a list of payloads."""
    return [Packet(p, start_ns + i * period_ns, i) for i, p in enumerate(payloads)]
