"""Hand a running graph's packets to Python code: ``for packet in PacketStream(graph, "composite.frame")``.

Not for: sinks that write somewhere (devices/); this is the notebook and script user's end of a graph.
The packets arrive through an ordinary edge (bounded, with its drop policy, every drop counted) into a
sink that passes them to the iterating thread one at a time; leaving the loop (``break``, an exception,
``close()``) stops the runner, closes every node (sources release their files and cameras) and joins
every node thread before the iterator returns.
"""
from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Self

from . import registry
from .errors import ConfigError
from .kinds import AnyKind
from .node import Context, Node
from .packet import Packet
from .runner import GraphRunner
from .spec import DropPolicy, GraphSpec, split_address
from .stats import RunStats
from .validate import resolve

#: the node id the stream's sink gets in the graph (it must not clash with the graph's own ids)
STREAM_NODE_ID = "python_stream"
STREAM_NODE_TYPE = "python_stream"
#: how long close() waits for node threads to finish (a node stuck in a system call holds it)
CLOSE_TIMEOUT_S = 30.0


class _Handoff:
    """One packet at a time from the sink's thread to the iterating thread."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.packet: Packet | None = None
        self.closed = False         # the consumer left: the sink discards and asks the graph to stop

    def give(self, packet: Packet) -> bool:
        """Called by the sink; waits while the consumer has not taken the previous packet."""
        with self.cond:
            while self.packet is not None and not self.closed:
                self.cond.wait(0.1)
            if self.closed:
                return False
            self.packet = packet
            self.cond.notify_all()
            return True

    def take(self, timeout: float) -> Packet | None:
        with self.cond:
            if self.packet is None:
                self.cond.wait(timeout)
            packet, self.packet = self.packet, None
            self.cond.notify_all()
            return packet

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.packet = None
            self.cond.notify_all()


class PythonStreamSink(Node):
    """The sink at the end of a ``stream()``: hands each packet to the iterating thread.

    in: packet (any kind). Registered in-process as ``python_stream`` so the graph check sees its
    port; each stream runs a subclass bound to its own handoff.
    """

    inputs = {"packet": AnyKind}
    handoff: _Handoff   # set on the per-stream subclass

    def process(self, ctx: Context) -> None:
        if not self.handoff.give(ctx.inputs["packet"]):  # type: ignore[arg-type]
            ctx.stop_requested = True


class PacketStream:
    """An iterator over the packets one output port of a running graph emits.

    Use it in a ``for`` loop (leaving the loop stops the graph) or as a context manager. After the
    graph ends, ``stats`` holds the run's RunStats; a node's error is raised from the iteration.
    """

    def __init__(self, graph: GraphSpec, address: str, *, policy: DropPolicy | str | None = None,
                 queue_size: int | None = None, max_frames: int | None = None):
        self._closed = True   # until the runner has started: nothing to close
        try:
            split_address(address)
        except ValueError as exc:
            raise ConfigError(str(exc), file=graph.file, field="stream") from None
        if STREAM_NODE_ID in graph.nodes:
            raise ConfigError(f"the graph already has a node {STREAM_NODE_ID!r}", file=graph.file,
                              node=STREAM_NODE_ID)
        spec = copy.deepcopy(graph)   # the caller's spec stays as it was
        self._handoff = _Handoff()
        bound = type("PythonStreamSink", (PythonStreamSink,), {"handoff": self._handoff})
        registry.register(STREAM_NODE_TYPE, PythonStreamSink)   # so resolve() checks the edge's kinds
        spec.add(STREAM_NODE_ID, STREAM_NODE_TYPE)
        spec.connect(address, f"{STREAM_NODE_ID}.packet", policy=policy, queue_size=queue_size)
        resolved = resolve(spec)
        resolved.node(STREAM_NODE_ID).cls = bound
        self.address = address
        self._runner = GraphRunner(resolved, max_frames=max_frames).start()
        self._closed = False

    @property
    def stats(self) -> RunStats:
        return self._runner.stats

    def __iter__(self) -> Iterator[Packet]:
        return self

    def __next__(self) -> Packet:
        if self._closed:
            raise StopIteration
        while True:
            try:
                packet = self._handoff.take(0.1)
            except BaseException:
                self.close()    # Ctrl-C in a notebook cell: stop the graph, then let it propagate
                raise
            if packet is not None:
                return packet
            if not self._runner.running:
                packet = self._handoff.take(0.0)   # the last one, handed over as the graph ended
                if packet is not None:
                    return packet
                self._finish()
                raise StopIteration

    def _finish(self) -> None:
        self._closed = True
        self._runner.wait(CLOSE_TIMEOUT_S)
        error = self._runner.error
        if error is not None and not isinstance(error, KeyboardInterrupt):
            raise error

    def close(self) -> None:
        """Stop the graph now: every node closes and its thread ends before this returns."""
        if self._closed:
            return
        self._closed = True
        self._handoff.close()
        self._runner.abort()
        self._runner.wait(CLOSE_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # a `for` loop left with `break` drops its only reference here: stop the graph then
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - never raise from a finaliser
            pass

