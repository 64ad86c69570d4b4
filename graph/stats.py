"""What a run measured: per-node packets and processing time, per-edge drops, capture->sink latency.

Not for: deciding anything at run time; the runner only records here, the CLI prints it.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

SAMPLES = 8192   # per node: enough for stable percentiles, bounded memory


def percentile_ms(samples_ns, q: float) -> float:
    if not samples_ns:
        return float("nan")
    return float(np.percentile(np.fromiter(samples_ns, dtype=np.int64, count=len(samples_ns)), q)) / 1e6


@dataclass
class NodeStats:
    id: str
    type: str
    role: str = "node"            # "source", "node" or "sink"
    part: str | None = None
    processed: int = 0
    emitted: int = 0
    process_ns: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))
    latency_ns: deque = field(default_factory=lambda: deque(maxlen=SAMPLES))   # sinks: capture -> done
    counters: dict[str, int] = field(default_factory=dict)
    late_or_missing: dict[str, int] = field(default_factory=dict)


@dataclass
class EdgeStats:
    name: str
    policy: str
    queue_size: int
    pushed: int = 0
    dropped: int = 0


@dataclass
class RunStats:
    nodes: dict[str, NodeStats] = field(default_factory=dict)
    edges: dict[str, EdgeStats] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    interrupted: bool = False          # stopped by Ctrl-C (cleanly)

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def dropped(self) -> int:
        return sum(e.dropped for e in self.edges.values())

    def frames_in(self) -> int:
        return sum(n.emitted for n in self.nodes.values() if n.role == "source")

    def frames_out(self) -> int:
        return sum(n.processed for n in self.sinks())

    def sinks(self) -> list[NodeStats]:
        return [n for n in self.nodes.values() if n.role == "sink"]

    def latency_ms(self, q: float) -> float:
        samples = [s for n in self.sinks() for s in n.latency_ns]
        return percentile_ms(samples, q)

    def summary(self) -> str:
        """A short per-node table, then edges that dropped, then latency."""
        rows = [("node", "type", "packets", "ms p50", "ms p95", "notes")]
        for n in self.nodes.values():
            notes = ", ".join(f"{k}={v}" for k, v in {**n.counters, **{f"late_{p}": c for p, c in
                                                                           n.late_or_missing.items() if c}}.items())
            rows.append((n.id, n.type, str(n.processed or n.emitted), f"{percentile_ms(n.process_ns, 50):.2f}",
                         f"{percentile_ms(n.process_ns, 95):.2f}", notes))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        for e in self.edges.values():
            if e.dropped:
                lines.append(f"edge {e.name} ({e.policy}, queue {e.queue_size}): dropped {e.dropped} of {e.pushed}")
        if any(n.latency_ns for n in self.sinks()):
            lines.append(f"capture->sink latency ms: p50 {self.latency_ms(50):.1f}  p95 {self.latency_ms(95):.1f}  "
                         f"p99 {self.latency_ms(99):.1f}")
        lines.append(f"{self.frames_out()} frames out in {self.seconds:.2f} s "
                     f"({self.frames_out() / max(self.seconds, 1e-9):.1f} fps), {self.dropped} dropped")
        return "\n".join(lines)
