"""Tracing a split run: two processes each write a trace; merged, every node's spans sit on one time axis."""
from __future__ import annotations

import json
import subprocess
import sys

from portraitflow.graph.trace import merge_trace_files

from support.split import free_tcp_port, split_graph

FRAMES = 20


def test_split_run_traces_merge_onto_one_axis(tmp_path):
    graph = tmp_path / "split.toml"
    graph.write_text(split_graph(FRAMES))
    address = f"tcp://127.0.0.1:{free_tcp_port()}"
    run = [sys.executable, "-m", "portraitflow", "run", "--graph", str(graph)]
    phone = subprocess.Popen([*run, "--part", "phone", "--connect", address,
                              "--trace", str(tmp_path / "phone.json")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    companion = subprocess.Popen([*run, "--part", "companion", "--bind", address,
                                  "--trace", str(tmp_path / "companion.json")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for process in (companion, phone):
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert process.returncode == 0, err

    companion_trace = json.loads((tmp_path / "companion.json").read_text())
    # the receiving process measured the link's clock offset and placed its spans on the sender's clock
    assert "companion" in companion_trace["otherData"]["clock_offsets_ns"]

    merged = json.loads(merge_trace_files([tmp_path / "phone.json", tmp_path / "companion.json"],
                                          tmp_path / "merged.json").read_text())
    spans = [e for e in merged["traceEvents"] if e["ph"] == "X"]
    by_node: dict[str, list[dict]] = {}
    for span in spans:
        by_node.setdefault(span["name"], []).append(span)
    # the graph's nodes, and the link nodes the split added (a sender in one process, a receiver in the other)
    # (a receiving link is a source: a span per process() call, and a call may find nothing yet)
    counts = {node: len(s) for node, s in by_node.items()}
    assert counts.pop("from_phone_capture_frame") >= FRAMES
    assert counts == {"capture": FRAMES, "shrink": FRAMES, "output": FRAMES,
                      "to_companion_capture_frame": FRAMES}
    processes = {e["pid"]: e["args"]["name"] for e in merged["traceEvents"] if e["name"] == "process_name"}
    assert sorted(processes.values()) == ["companion", "phone"]
    assert {processes[e["pid"]] for e in by_node["capture"]} == {"phone"}
    assert {processes[e["pid"]] for e in by_node["shrink"]} == {"companion"}
    # on one axis: a frame is downscaled in the companion after the phone captured it
    captured = sorted(e["ts"] + e["dur"] for e in by_node["capture"])
    shrunk = sorted(e["ts"] for e in by_node["shrink"])
    assert all(s >= c - 1000 for c, s in zip(captured, shrunk))   # 1 ms for the offset's estimate
