"""A sink that discards everything it receives: the end of a graph measured for speed alone.

Not for: keeping results (video_sink.py, png_sink.py).
in: frame (any kind)   example: `portraitflow run --output null` (benchmarks)
"""
from __future__ import annotations

from ..graph import AnyKind, Node


class NullSink(Node):
    """Drops each packet; counts them as "discarded" (the runner records latency as for any sink)."""

    inputs = {"frame": AnyKind}

    def process(self, ctx) -> None:
        ctx.count("discarded")
