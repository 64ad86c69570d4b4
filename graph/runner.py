"""Run a graph: one worker thread per node, bounded streams between them, clean start and stop.

Not for: checking the graph (graph/validate.py) or crossing processes (transport links are nodes).
Numpy, OpenCV and onnxruntime release the GIL, so a thread per node uses both cores. A source
ends by raising EndOfStream; the end flows downstream edge by edge; ``stop()`` ends the sources
(Ctrl-C) and lets the rest drain; a node that raises aborts the graph with a NodeError naming the
node, its type and the packet's timestamp, and every node's close() still runs.
"""
from __future__ import annotations

import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import allocator, opencv_threads, thread_scheduling
from .errors import ConfigError, EndOfStream, NodeError, PortraitflowError
from .media_time import media_seconds
from .node import Context, Node, OutputCheck
from .options import build_options
from .packet import CLOCK_OFFSET_KEY, Packet
from .pairing import InputSet
from .spec import GraphSpec
from .stats import EdgeStats, NodeStats, RunStats
from .stream import Stream
from .validate import ResolvedGraph, ResolvedNode, node_contract, resolve

#: called as observer(node_id, capture_ts_ns, start_ns, end_ns) after each process() (tracing); end_ns
#: leaves out the time emit() waited on a full queue, as the node's process_ns does: that wait is the
#: consumer's lateness, and the consumer may already be at work on the packet meanwhile
Observer = Callable[[str, int | None, int, int], None]


class GraphRunner:
    def __init__(self, graph: GraphSpec | ResolvedGraph, *, max_frames: int | None = None,
                 observers: list[Observer] | None = None):
        self.graph = graph if isinstance(graph, ResolvedGraph) else resolve(graph)
        self.max_frames = max_frames
        self.observers = list(observers or [])
        self.stats = RunStats()
        self.error: BaseException | None = None
        #: the graph-order index of the node whose failed open() is self.error (None: not an open failure)
        self._error_open_index: int | None = None
        self._abort = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._all_open = threading.Event()
        self._open_count = 0
        self._open_lock = threading.Lock()
        self._pending_options: dict[str, object] = {}
        self._pending_lock = threading.RLock()     # set_options reads the pending options under it
        self._resumed = threading.Event()
        self._resumed.set()
        self._holds_opencv = False
        #: node id -> why its last live option change was undone (see _process_after_change)
        self.undone_changes: dict[str, str] = {}
        # one lock per consumer node, shared by its input streams; each stream adds a condition of its own
        self._locks = {n.id: threading.RLock() for n in self.graph.nodes}
        self._conds = {node_id: threading.Condition(lock) for node_id, lock in self._locks.items()}
        self.streams: dict[str, Stream] = {}
        self._out_streams: dict[str, dict[str, list[Stream]]] = {n.id: {} for n in self.graph.nodes}
        self._in_streams: dict[str, dict[str, Stream]] = {n.id: {} for n in self.graph.nodes}
        for edge in self.graph.edges:
            e = edge.spec
            stream = Stream(edge.name, edge.queue_size, edge.policy, self._conds[e.target], self._abort,
                            self._locks[e.target])
            self.streams[edge.name] = stream
            self._out_streams[e.source].setdefault(e.source_port, []).append(stream)
            self._in_streams[e.target][e.target_port] = stream
            self.stats.edges[edge.name] = EdgeStats(edge.name, edge.policy.value, edge.queue_size)
        self.nodes: dict[str, Node] = {}
        self._input_sets: dict[str, InputSet] = {}
        #: the first capture timestamp any source emitted: media times in errors count from it
        self.first_capture_ts_ns: int | None = None
        #: the first media time (s) a source stamped: a frame's media time in errors counts from it
        self.first_media_s = None
        for rn in self.graph.nodes:
            role = "source" if not rn.cls.inputs else "sink" if not rn.cls.outputs else "node"
            self.stats.nodes[rn.id] = NodeStats(rn.id, rn.type, role, rn.part)

    # -- control -------------------------------------------------------------------------------
    def start(self) -> GraphRunner:
        self.stats.started = time.monotonic()
        # frame-size buffers handed between the node threads: reused, not fresh pages (allocator.py)
        allocator.tune_for_frames()
        for rn in self.graph.nodes:
            node = rn.instantiate()
            self.nodes[rn.id] = node
            t = threading.Thread(target=self._worker, args=(rn, node), name=f"node:{rn.id}", daemon=True)
            self._threads.append(t)
        # the node threads fill the cores: OpenCV's own pool on top only adds contention (opencv_threads.py)
        self._holds_opencv = opencv_threads.hold_single_threaded(len(self._threads))
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Graceful: sources stop producing; queued packets drain; sinks finalise."""
        self._stop.set()

    def _opened(self) -> None:
        with self._open_lock:
            self._open_count += 1
            if self._open_count == len(self.graph.nodes):
                self._all_open.set()

    def set_options(self, node_id: str, raw: dict) -> object:
        """Change a running node's options (validated now, applied before its next process() call,
        on its own thread, so a node never sees options change mid-packet). E.g. switching a
        recipe's look live from the web preview. Changes sent before the node applied the previous
        ones build on them (two sliders moved within one frame both count). A change that makes the
        node fail (in options_changed or on its next packet) is undone: the node goes on with its
        previous options, counts option_change_undone and ``undone_changes`` says why. Returns the
        new options."""
        rn = next((n for n in self.graph.nodes if n.id == node_id), None)
        if rn is None:
            raise ConfigError(f"no node {node_id!r} in the running graph", node=node_id)
        with self._pending_lock:
            current = self.current_options(node_id)
            base = dataclasses.asdict(current) if current is not None else {}
            options = build_options(rn.cls.Options, {**base, **raw}, node=node_id)
            pairing, _ = node_contract(rn.cls, options, node=node_id)   # a rule it cannot run with fails here
            if (pairing and pairing.primary) != (rn.pairing and rn.pairing.primary):
                raise ConfigError("these options change which input drives the node; that cannot change "
                                  "while it runs", node=node_id)
            self._pending_options[node_id] = options
        return options

    def current_options(self, node_id: str) -> object | None:
        """The node's options as the next process() call will see them (changes not yet applied
        included); None before the node exists."""
        with self._pending_lock:
            pending = self._pending_options.get(node_id)
        if pending is not None:
            return pending
        node = self.nodes.get(node_id)
        return node.options if node is not None else None

    def _apply_pending(self, node: Node, ctx: Context) -> object | None:
        """Apply the node's pending options; returns the options they replaced (None when nothing was
        pending, or the change was undone at once because options_changed refused it)."""
        if node.id not in self._pending_options:
            return None
        with self._pending_lock:
            options = self._pending_options.pop(node.id)
        previous = node.options
        self._set_node_options(node, options)
        try:
            node.options_changed(ctx)
        except Exception as exc:  # noqa: BLE001 - a live change must not end the run
            self._undo_change(node, ctx, previous, exc)
            return None
        return previous

    def _set_node_options(self, node: Node, options: object) -> None:
        node.options = options
        inputs = self._input_sets.get(node.id)
        if inputs is not None:   # the pairing follows the options, as it was checked
            inputs.pairing = node_contract(type(node), options, node=node.id)[0]

    def _process_after_change(self, node: Node, ctx: Context, previous: object) -> bool:
        """The first packet after a live change: when the new options make process() fail (an image
        path that does not load, a model that is not there), they are undone and this packet is
        dropped; the node runs on as before. True when the packet was processed."""
        try:
            node.process(ctx)
            return True
        except Exception as exc:  # noqa: BLE001 - the change failed, not the node
            self._undo_change(node, ctx, previous, exc)
            return False

    def _undo_change(self, node: Node, ctx: Context, previous: object, exc: Exception) -> None:
        self._set_node_options(node, previous)
        node.options_changed(ctx)     # back to what ran; failing again here fails the node
        ctx.count("option_change_undone")
        with self._pending_lock:
            self.undone_changes[node.id] = " ".join(f"{type(exc).__name__}: {exc}".split())

    def pause(self) -> None:
        """Sources stop producing until resume() (what is in flight still reaches the sinks); stop()
        still ends a paused graph."""
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    @property
    def paused(self) -> bool:
        return not self._resumed.is_set()

    def fail(self, error: BaseException) -> None:
        """A node failed: record the first error and stop the sources; what was already produced
        downstream still drains to the sinks (so a recording keeps every frame before the error)."""
        if self.error is None:
            self.error = error
        self.stop()

    def _fail_open(self, index: int, error: BaseException) -> None:
        """A node's open() failed. The nodes open at once, so which fails first is a race: of the
        failed opens the one earliest in the graph (sources first) is the error, the same every run
        (no camera is named before the sink that had nothing to show)."""
        with self._open_lock:
            if self.error is None or (self._error_open_index is not None and index < self._error_open_index):
                self.error = error
                self._error_open_index = index
        self.stop()

    def abort(self, error: BaseException | None = None) -> None:
        """Immediate: every worker leaves its loop (close() still runs)."""
        if error is not None and self.error is None:
            self.error = error
        self._abort.set()
        self._stop.set()
        for cond in self._conds.values():
            with cond:
                cond.notify_all()
        for stream in self.streams.values():   # producers blocked on a full queue, too
            stream.wake_all()

    def wait(self, timeout: float | None = None) -> bool:
        """True when every worker has finished."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for t in self._threads:
            if t.ident is None:   # never started (start() was interrupted): nothing to wait for
                continue
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            t.join(remaining)
            if t.is_alive():
                return False
        self.stats.ended = self.stats.ended or time.monotonic()
        with self._open_lock:   # wait() may be called from several threads: release once
            held, self._holds_opencv = self._holds_opencv, False
        if held:
            opencv_threads.release()
        self._collect()
        return True

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _collect(self) -> None:
        for name, stream in self.streams.items():
            self.stats.edges[name].pushed = stream.pushed
            self.stats.edges[name].dropped = stream.dropped

    # -- workers -------------------------------------------------------------------------------
    def _worker(self, rn: ResolvedNode, node: Node) -> None:
        # a packet handed to this thread must not preempt the thread that handed it (thread_scheduling.py)
        thread_scheduling.run_current_thread_as_batch()
        stats = self.stats.nodes[rn.id]
        outputs = self._out_streams[rn.id]
        check_output = OutputCheck(rn.cls)
        waited = [0]
        is_source = not rn.cls.inputs

        def emit(port: str, packet: Packet) -> None:
            check_output(port, packet)
            if is_source and self.first_capture_ts_ns is None:
                self.first_capture_ts_ns = packet.capture_ts_ns
                self.first_media_s = media_seconds(packet.meta)
            stats.emitted += 1
            streams = outputs.get(port, ())
            if streams:
                start = time.perf_counter_ns()
                for stream in streams:
                    stream.put(packet)
                waited[0] += time.perf_counter_ns() - start   # backpressure is not the node's own time

        ctx = Context(rn.id, emit)
        ctx.counters = stats.counters
        current: Packet | None = None   # the primary packet being processed, for error messages
        try:
            try:
                node.open(ctx)
            except BaseException as exc:  # noqa: BLE001 - named as the graph's error, in graph order
                self._fail_open(self.graph.nodes.index(rn),
                                self._wrap(rn, exc, None, next_index=0 if is_source else None))
                return
            finally:
                self._opened()
            if not rn.cls.inputs:
                # sources start once every node is open (models loaded, files created), so the
                # first frames are neither dropped nor delayed by a stage still starting up
                while not self._all_open.wait(0.1) and not self._stop.is_set():
                    pass
                self._run_source(node, ctx, stats, waited)
            else:
                inputs = InputSet(self._in_streams[rn.id], rn.pairing, self._conds[rn.id], self._abort)
                self._input_sets[rn.id] = inputs
                stats.late_or_missing = inputs.late_or_missing
                is_sink = not rn.cls.outputs
                # the streams this node settles after each call (graph/stream.py: Stream.settle)
                settles = [] if rn.cls.emits_later else [stream for streams in outputs.values() for stream in streams]
                while not self._abort.is_set():
                    got = inputs.next()
                    if got is None:
                        break
                    primary = got[inputs.primary]  # type: ignore[index]
                    current = primary
                    current_ts = primary.capture_ts_ns if primary else None
                    ctx.inputs = got
                    previous = self._apply_pending(node, ctx) if self._pending_options else None
                    waited[0] = 0
                    start = time.perf_counter_ns()
                    if previous is None:
                        node.process(ctx)
                    elif not self._process_after_change(node, ctx, previous):
                        self._settle(settles, current_ts)
                        continue
                    end = time.perf_counter_ns()
                    self._settle(settles, current_ts)
                    stats.processed += 1
                    stats.process_ns.append(end - start - waited[0])
                    if is_sink and current_ts is not None:
                        # packets from another process carry its clock's offset (graph/transport/link.py)
                        offset = primary.meta.get(CLOCK_OFFSET_KEY, 0) if primary else 0
                        stats.latency_ns.append(time.monotonic_ns() - current_ts - offset)
                    for observer in self.observers:
                        observer(rn.id, current_ts, start, end - waited[0])
                    if ctx.stop_requested:
                        self.stop()
        except BaseException as exc:  # noqa: BLE001 - any failure stops the graph, named
            self.fail(self._wrap(rn, exc, current, next_index=stats.emitted if is_source else None))
        finally:
            try:
                node.close(ctx)
            except BaseException as exc:  # noqa: BLE001
                self.fail(self._wrap(rn, exc, None))
            for stream in self._in_streams[rn.id].values():
                stream.detach()
            for streams in outputs.values():
                for stream in streams:
                    stream.close()

    @staticmethod
    def _settle(streams: list[Stream], ts_ns: int | None) -> None:
        """The node is done with ``ts_ns``: a consumer waiting on these streams for a packet at it stops."""
        if ts_ns is not None:
            for stream in streams:
                stream.settle(ts_ns)

    def _run_source(self, node: Node, ctx: Context, stats: NodeStats, waited: list[int]) -> None:
        while not self._stop.is_set():
            if self.max_frames is not None and stats.emitted >= self.max_frames:
                return
            if not self._resumed.is_set():
                self._resumed.wait(0.1)    # paused: look again for stop() every 0.1 s
                continue
            if self._pending_options:
                self._apply_pending(node, ctx)
            waited[0] = 0
            start = time.perf_counter_ns()
            try:
                node.process(ctx)
            except EndOfStream:
                return
            end = time.perf_counter_ns()
            stats.processed += 1
            stats.process_ns.append(end - start - waited[0])
            for observer in self.observers:
                observer(node.id, None, start, end - waited[0])
            if ctx.stop_requested:
                return

    def _wrap(self, rn: ResolvedNode, exc: BaseException, packet: Packet | None,
              next_index: int | None = None) -> BaseException:
        """``packet``: the primary packet being processed; ``next_index``: for a source, the index
        of the frame it was making."""
        if isinstance(exc, NodeError):
            return exc
        if packet is None:
            err = NodeError(rn.id, rn.type, None, exc, frame_index=next_index)
        else:
            err = NodeError(rn.id, rn.type, packet.capture_ts_ns, exc, frame_index=packet.seq,
                            media_time_s=self._media_time_s(packet))
        if isinstance(exc, PortraitflowError):
            err.exit_code = exc.exit_code
        return err

    def _media_time_s(self, packet: Packet) -> float | None:
        """The packet's time in the media, from the run's first frame: its source's media time
        (graph/media_time.py: a file's own pts) when it has one, else its capture time (packets from
        another process carry their clock's offset)."""
        media = media_seconds(packet.meta)
        if media is not None and self.first_media_s is not None:
            return float(max(0, media - self.first_media_s))
        first = self.first_capture_ts_ns
        if first is None:
            return None
        offset = packet.meta.get(CLOCK_OFFSET_KEY, 0)
        return max(0, packet.capture_ts_ns + offset - first) / 1e9


@contextmanager
def _ctrl_c_held() -> Iterator[list[int]]:
    """Ctrl-C held back while the node threads start, and listed: a KeyboardInterrupt raised inside
    Thread.start() broke threading's own lock ("release unlocked lock") or left run_graph while a node
    thread was still opening (a model loading in onnxruntime), which took the process down with SIGABRT at
    exit ("terminate called without an active exception"). Only where Python's own handler is installed, in
    the main thread (anywhere else a KeyboardInterrupt cannot arrive there)."""
    held: list[int] = []
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield held
        return
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_graph(graph: GraphSpec | ResolvedGraph, *, max_frames: int | None = None,
              on_start: Callable[[GraphRunner], None] | None = None,
              on_tick: Callable[[GraphRunner], None] | None = None, tick_s: float = 0.5,
              observers: list[Observer] | None = None) -> RunStats:
    """Run to the end (or Ctrl-C: the first stops cleanly, a second aborts). Raises the first
    node error after every node has closed. ``on_start`` sees the runner as soon as its threads
    run (e.g. to control it from a web page), ``on_tick`` every ``tick_s`` seconds."""
    runner = GraphRunner(graph, max_frames=max_frames, observers=observers)
    try:
        with _ctrl_c_held() as held:
            runner.start()
        # a Ctrl-C that came while the threads started is the first one: it stops cleanly, as in the loop below
        interrupted = bool(held)
        if interrupted:
            runner.stop()
        if on_start is not None:
            on_start(runner)
    except BaseException:   # a thread that could not start, or on_start failed: the threads leave first
        runner.abort()
        runner.wait(10.0)
        raise
    while True:
        try:
            if runner.wait(tick_s):
                break
            if on_tick is not None:
                on_tick(runner)
        except KeyboardInterrupt:
            if interrupted:
                runner.abort(KeyboardInterrupt())
            interrupted = True
            runner.stop()
    if runner.error is not None and not isinstance(runner.error, KeyboardInterrupt):
        raise runner.error
    runner.stats.interrupted = interrupted
    return runner.stats
