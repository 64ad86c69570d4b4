"""Tracing: a real run writes Chrome trace-event JSON with a span per node per packet, parts as processes."""
from __future__ import annotations

import json

import pytest

from portraitflow.graph.errors import ConfigError
from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec
from portraitflow.graph.trace import TraceRecorder, merge_trace_files
from portraitflow.graph.validate import resolve

import support.graph_nodes  # noqa: F401  (registers the t_* test nodes)


def traced_run(tmp_path, frames=12, parts=("cam", "cam", "gpu", "gpu")):
    spec = (GraphSpec(name="t")
            .add("src", "t_count", frames=frames, part=parts[0])
            .add("slow", "t_slow", seconds=0.003, part=parts[1])
            .add("mask", "t_mask", part=parts[2])
            .add("sink", "t_collect", key="trace", part=parts[3])
            .connect("src.frame", "slow.frame")
            .connect("slow.frame", "mask.frame")
            .connect("slow.frame", "sink.frame")
            .connect("mask.mask", "sink.mask"))
    graph = resolve(spec)
    recorder = TraceRecorder.for_graph(graph)
    run_graph(graph, observers=[recorder])
    return recorder, recorder.write(tmp_path / "run.json")


def spans_by_node(data):
    spans = {}
    for event in data["traceEvents"]:
        if event["ph"] == "X":
            spans.setdefault(event["name"], []).append(event)
    return spans


def test_every_node_has_one_span_per_packet_with_part_as_process(tmp_path):
    _, path = traced_run(tmp_path)
    data = json.loads(path.read_text())
    spans = spans_by_node(data)
    assert {name: len(s) for name, s in spans.items()} == {"src": 12, "slow": 12, "mask": 12, "sink": 12}
    names = {(e["name"], e["pid"], e.get("tid")): e["args"]["name"] for e in data["traceEvents"]
             if e["ph"] == "M" and e["name"] in ("process_name", "thread_name")}
    process_names = {pid: name for (kind, pid, _), name in names.items() if kind == "process_name"}
    assert sorted(process_names.values()) == ["cam", "gpu"]
    for node, part in {"src": "cam", "slow": "cam", "mask": "gpu", "sink": "gpu"}.items():
        pids = {e["pid"] for e in spans[node]}
        assert [process_names[p] for p in pids] == [part]
        assert len({e["tid"] for e in spans[node]}) == 1
    slow = spans["slow"]
    assert all(e["dur"] >= 3000 for e in slow)          # the node sleeps 3 ms; dur is in microseconds
    # the same packet passes src -> slow -> mask: its spans follow each other on one clock
    by_capture = {node: {e["args"].get("capture_ts_ns"): e for e in s} for node, s in spans.items()}
    for capture_ts, slow_span in by_capture["slow"].items():
        mask_span = by_capture["mask"][capture_ts]
        assert mask_span["ts"] >= slow_span["ts"] + slow_span["dur"] - 1   # rounding to 1 us
        assert slow_span["ts"] >= capture_ts / 1e3 - 1                      # after the capture
        assert slow_span["args"]["age_ms"] >= 3.0


def test_clock_offset_shifts_one_part_only(tmp_path):
    recorder, path = traced_run(tmp_path)
    before = spans_by_node(json.loads(path.read_text()))
    recorder.set_clock_offset("gpu", -5_000_000)   # that part's clock runs 5 ms ahead of the reference
    after = spans_by_node(recorder.to_json())
    for node, shift_us in {"src": 0, "slow": 0, "mask": -5000, "sink": -5000}.items():
        deltas = {round(a["ts"] - b["ts"]) for a, b in zip(after[node], before[node])}
        assert deltas == {shift_us}


def test_merge_keeps_processes_apart_and_applies_file_offsets(tmp_path):
    _, first = traced_run(tmp_path, parts=(None,) * 4)
    second = tmp_path / "second.json"
    first.rename(second)
    _, first = traced_run(tmp_path, parts=(None,) * 4)
    merged = merge_trace_files([first, second], tmp_path / "merged.json", {str(second): 1_000_000})
    data = json.loads(merged.read_text())
    pids = {e["pid"] for e in data["traceEvents"]}
    assert len(pids) == 2
    original = spans_by_node(json.loads(second.read_text()))["src"][0]["ts"]
    shifted = [e for e in data["traceEvents"] if e["ph"] == "X" and e["name"] == "src"]
    assert any(abs(e["ts"] - (original + 1000)) < 1e-6 for e in shifted)


def test_unwritable_trace_path_names_the_file(tmp_path):
    recorder = TraceRecorder({"a": None})
    with pytest.raises(ConfigError, match="no-such-dir"):
        recorder.write(tmp_path / "no-such-dir" / "t.json")


def test_recorder_is_bounded():
    recorder = TraceRecorder({"a": None}, max_spans=3)
    for i in range(5):
        recorder("a", i, i, i + 1)
    assert len(recorder.spans) == 3 and recorder.dropped_spans == 2
    assert recorder.to_json()["otherData"]["dropped_spans"] == 2


def test_a_receiving_process_is_placed_on_the_link_clock():
    from portraitflow.graph.stats import NodeStats, RunStats
    from portraitflow.graph.trace import place_on_link_clock

    recorder = TraceRecorder({"link": "gpu", "mask": "gpu"}, process="gpu")
    recorder("mask", None, 1_000_000, 2_000_000)
    before = spans_by_node(recorder.to_json())["mask"][0]["ts"]
    stats = RunStats()
    assert place_on_link_clock(recorder, stats) is None       # no link: this process is the reference
    stats.nodes["link"] = NodeStats("link", "link_in", counters={"link_clock_offset_us": 2500})
    assert place_on_link_clock(recorder, stats) == 2_500_000
    assert spans_by_node(recorder.to_json())["mask"][0]["ts"] == pytest.approx(before + 2500)
