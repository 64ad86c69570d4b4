"""Record what the graph did as Chrome trace-event JSON (Perfetto and chrome://tracing open it).

Not for: statistics (graph/stats.py) or deciding anything at run time; a recorder only appends spans.
A ``TraceRecorder`` is a runner observer: one complete event ("ph": "X") per node per packet, with
pid = the node's part (one row group per process of a split graph) and tid = the node. Times are on
the graph clock (monotonic ns); a part whose clock differs from the reference part is shifted by its
estimated clock offset (``set_clock_offset``, fed by the transport link), so a split graph's spans sit
on one time axis. ``merge_trace_files`` joins the files that each process of a split run wrote.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .packet import LINK_CLOCK_OFFSET_COUNTER

#: at 30 fps and 8 nodes this is about 70 minutes of spans (~100 bytes each in memory)
MAX_SPANS = 1_000_000
LOCAL_PART = "local"


@dataclass(frozen=True, slots=True)
class Span:
    node_id: str
    capture_ts_ns: int | None
    start_ns: int          # graph clock (monotonic ns)
    end_ns: int


class TraceRecorder:
    """Collects spans from ``GraphRunner(observers=[recorder])`` and writes them with ``write(path)``.

    node_parts maps node id -> part label (None or missing: ``process`` label). The runner measures
    with perf_counter_ns; spans are converted to the graph clock (monotonic_ns) once, here, so they
    line up with capture timestamps.
    """

    def __init__(self, node_parts: dict[str, str | None] | None = None, *, process: str = LOCAL_PART,
                 node_types: dict[str, str] | None = None, max_spans: int = MAX_SPANS):
        self.node_parts = dict(node_parts or {})
        self.node_types = dict(node_types or {})
        self.process = process
        self.max_spans = max_spans
        self.spans: list[Span] = []
        self.dropped_spans = 0
        self.clock_offsets_ns: dict[str, int] = {}
        # perf_counter and monotonic may be different clocks (they are the same on Linux); measure once
        self._perf_to_graph_ns = time.monotonic_ns() - time.perf_counter_ns()
        self._lock = threading.Lock()

    @classmethod
    def for_graph(cls, graph, *, process: str = LOCAL_PART) -> TraceRecorder:
        """A recorder that knows each node's part and type (graph: a ResolvedGraph)."""
        return cls({n.id: n.part for n in graph.nodes}, process=process,
                   node_types={n.id: n.type for n in graph.nodes})

    def __call__(self, node_id: str, capture_ts_ns: int | None, start_ns: int, end_ns: int) -> None:
        """The runner's observer hook: called on the node's thread after each process()."""
        if len(self.spans) >= self.max_spans:
            self.dropped_spans += 1
            return
        offset = self._perf_to_graph_ns
        self.spans.append(Span(node_id, capture_ts_ns, start_ns + offset, end_ns + offset))

    def set_clock_offset(self, part: str, offset_ns: int) -> None:
        """Spans of ``part`` are shifted by offset_ns (reference clock minus that part's clock), e.g.
        the offset a transport link estimated between the two processes."""
        with self._lock:
            self.clock_offsets_ns[part] = int(offset_ns)

    def part_of(self, node_id: str) -> str:
        return self.node_parts.get(node_id) or self.process

    def events(self) -> list[dict]:
        """The trace events: process/thread names first (metadata, "ph": "M"), then one "X" per span."""
        spans = list(self.spans)
        parts = sorted({self.part_of(s.node_id) for s in spans} | {self.part_of(n) for n in self.node_parts})
        pids = {part: index + 1 for index, part in enumerate(parts)}
        node_ids = list(dict.fromkeys([*self.node_parts, *(s.node_id for s in spans)]))
        tids = {node_id: index + 1 for index, node_id in enumerate(node_ids)}
        events: list[dict] = []
        for part, pid in pids.items():
            events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": part}})
            events.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                           "args": {"sort_index": pid}})
        for node_id, tid in tids.items():
            pid = pids[self.part_of(node_id)]
            label = f"{node_id} ({self.node_types[node_id]})" if node_id in self.node_types else node_id
            events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": label}})
            events.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                           "args": {"sort_index": tid}})
        for span in spans:
            part = self.part_of(span.node_id)
            shift = self.clock_offsets_ns.get(part, 0)
            args: dict = {}
            if span.capture_ts_ns is not None:
                args["capture_ts_ns"] = span.capture_ts_ns
                # capture -> end of this node: how old the frame is when this node is done with it
                args["age_ms"] = round((span.end_ns - span.capture_ts_ns) / 1e6, 3)
            events.append({"ph": "X", "name": span.node_id, "cat": "node", "pid": pids[part],
                           "tid": tids[span.node_id], "ts": (span.start_ns + shift) / 1e3,
                           "dur": (span.end_ns - span.start_ns) / 1e3, "args": args})
        return events

    def to_json(self) -> dict:
        return {"traceEvents": self.events(), "displayTimeUnit": "ms",
                "otherData": {"clock": "monotonic_ns / 1000 (graph clock, microseconds)",
                              "process": self.process, "clock_offsets_ns": dict(self.clock_offsets_ns),
                              "dropped_spans": self.dropped_spans}}

    def write(self, path: str | Path) -> Path:
        """Write the trace file (atomically: a crash never leaves half a file)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(self.to_json(), separators=(",", ":")))
            tmp.replace(path)
        except OSError as exc:
            raise ConfigError(f"cannot write the trace file: {exc}", file=str(path)) from exc
        return path


def merge_trace_files(paths: Iterable[str | Path], output: str | Path,
                      clock_offsets_ns: dict[str, int] | None = None) -> Path:
    """Join trace files written by the processes of a split run into one file on one time axis.

    Each file keeps its own process ids, renumbered so they do not collide; ``clock_offsets_ns``
    (file path -> reference clock minus that file's clock) shifts whole files, for offsets known
    only after the run.
    """
    clock_offsets_ns = {str(k): v for k, v in (clock_offsets_ns or {}).items()}
    merged: list[dict] = []
    next_pid = 1
    for path in paths:
        try:
            data = json.loads(Path(path).read_text())
            events = data["traceEvents"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"not a trace file: {exc}", file=str(path)) from exc
        shift_us = clock_offsets_ns.get(str(path), 0) / 1e3
        pid_map: dict[int, int] = {}
        for event in events:
            pid = event.get("pid", 0)
            if pid not in pid_map:
                pid_map[pid] = next_pid
                next_pid += 1
            event = {**event, "pid": pid_map[pid]}
            if "ts" in event:
                event["ts"] = event["ts"] + shift_us
            merged.append(event)
    output = Path(output)
    output.write_text(json.dumps({"traceEvents": merged, "displayTimeUnit": "ms"}, separators=(",", ":")))
    return output


def place_on_link_clock(recorder: TraceRecorder, stats) -> int | None:
    """In a process of a split run that receives over a link: shift every span of this process onto
    the sending process's clock, using the offset the link estimated (the counter
    LINK_CLOCK_OFFSET_COUNTER of the node that receives the link: peer clock minus this clock). Returns the offset applied, or None when this
    process has no such link (it is then the reference itself)."""
    offsets = [n.counters[LINK_CLOCK_OFFSET_COUNTER] for n in stats.nodes.values()
               if LINK_CLOCK_OFFSET_COUNTER in n.counters]
    if not offsets:
        return None
    offset_ns = int(offsets[0]) * 1000
    for part in {recorder.part_of(node_id) for node_id in recorder.node_parts} | {recorder.process}:
        recorder.set_clock_offset(part, offset_ns)
    return offset_ns
