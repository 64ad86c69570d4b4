"""The public Python API: `import portraitflow` is cheap, builds graphs, runs them and streams numpy
packets to a loop that can stop the graph with `break`; the example script runs end to end."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

import portraitflow as pf
from portraitflow.graph import EndOfStream, Frame, Node, registry

import support.graph_nodes  # noqa: F401  (registers t_count, t_slow, t_fail, ...)

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("av", "onnx", "onnxruntime", "tflite", "cv2", "zmq")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_import_portraitflow_imports_nothing_heavy():
    loaded = _modules_after("import portraitflow")
    assert not loaded & {*HEAVY, "numpy"}, loaded & {*HEAVY, "numpy"}


def test_the_command_line_help_imports_neither_pyav_nor_onnx():
    loaded = _modules_after("from portraitflow.cli.main import build_parser; build_parser().format_help()")
    assert not loaded & {"av", "onnx", "onnxruntime", "tflite"}, loaded & {"av", "onnx", "onnxruntime"}


def test_every_public_name_resolves_and_graph_is_graphspec():
    for name in pf.__all__:
        assert getattr(pf, name) is not None, name
    assert pf.Graph is pf.GraphSpec
    assert set(pf.__all__) == {*pf._EXPORTS, *pf._ALIASES, "__version__"}
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        pf.nope  # noqa: B018


class ClosingSource(Node):
    """A live 8x8 frame source that records whether close() ran (the API must close sources)."""

    outputs = {"frame": Frame}
    closed: dict[str, bool] = {}

    @dataclass(frozen=True)
    class Options:
        key: str = "k"
        fps: float = 100.0

    @classmethod
    def live_for(cls, options) -> bool:
        return True

    def open(self, ctx):
        ClosingSource.closed[self.options.key] = False
        self.sent = 0
        self.due = time.monotonic()

    def process(self, ctx):
        if self.sent >= 100_000:
            raise EndOfStream
        self.due += 1.0 / self.options.fps
        delay = self.due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        ctx.emit("frame", ctx.new_packet(np.full((8, 8, 3), self.sent % 256, np.uint8)))
        self.sent += 1

    def close(self, ctx):
        ClosingSource.closed[self.options.key] = True


registry.register("t_closing", ClosingSource)


@pytest.fixture(autouse=True)
def threads_before():
    """Node threads alive before the test (another test's graph may still be finishing)."""
    global _BEFORE
    _BEFORE = set(threading.enumerate())
    yield


_BEFORE: set[threading.Thread] = set()


def _node_threads() -> list[str]:
    """Node threads this test started that are still alive."""
    return [t.name for t in threading.enumerate() if t.name.startswith("node:") and t not in _BEFORE]


def test_break_stops_the_graph_closes_the_source_and_leaves_no_thread():
    # block edges: the live source would otherwise drop a frame now and then on a busy machine
    graph = pf.GraphSpec(policy="block").add("src", "t_closing", key="break").add("slow", "t_slow", seconds=0.0)
    graph.connect("src.frame", "slow.frame")
    seen = []
    for packet in pf.stream(graph, "slow.frame"):
        seen.append(packet.seq)
        if len(seen) == 3:
            break
    assert seen == [0, 1, 2]
    assert ClosingSource.closed["break"] is True
    assert _node_threads() == []


def test_context_manager_closes_a_stream_that_is_kept_in_a_variable():
    graph = pf.GraphSpec().add("src", "t_closing", key="with")
    with pf.stream(graph, "src.frame") as packets:
        first = next(packets)
        assert first.payload.shape == (8, 8, 3) and first.payload.dtype == np.uint8
    assert ClosingSource.closed["with"] is True
    assert _node_threads() == []
    assert list(packets) == []          # a closed stream yields nothing more


def test_latest_edge_to_a_slow_loop_drops_old_packets_and_keeps_the_newest():
    graph = pf.GraphSpec().add("src", "t_count", frames=60, fps=200.0, live=True)
    seqs = []
    with pf.stream(graph, "src.frame", policy="latest", queue_size=1) as packets:
        for packet in packets:
            seqs.append(packet.seq)
            time.sleep(0.02)               # a loop slower than the source (4x)
    assert seqs == sorted(set(seqs))      # in order, never twice
    assert len(seqs) < 60 and seqs[-1] == 59
    assert packets.stats.dropped == 60 - len(seqs)
    assert _node_threads() == []


def test_block_edge_makes_the_graph_wait_for_the_loop_nothing_dropped():
    graph = pf.GraphSpec().add("src", "t_count", frames=25)
    seqs = []
    with pf.stream(graph, "src.frame", policy="block", queue_size=1) as packets:
        for packet in packets:
            seqs.append(packet.seq)
            time.sleep(0.005)
            assert packet.payload[0, 0, 0] == packet.seq
    assert seqs == list(range(25))
    assert packets.stats.dropped == 0


def test_a_node_error_is_raised_from_the_loop_after_the_frames_before_it():
    graph = (pf.GraphSpec().add("src", "t_count", frames=10).add("bad", "t_fail", at=4)
             .connect("src.frame", "bad.frame"))
    seen = []
    with pytest.raises(pf.NodeError, match="node 'bad'") as failure:
        for packet in pf.stream(graph, "bad.frame", policy="block"):
            seen.append(packet.seq)
    assert seen == [0, 1, 2]
    assert "boom" in str(failure.value)
    assert _node_threads() == []


def test_bad_addresses_are_config_errors_naming_the_port():
    graph = pf.GraphSpec().add("src", "t_count", frames=3)
    with pytest.raises(pf.ConfigError, match="expected 'node.port'"):
        pf.stream(graph, "src")
    with pytest.raises(pf.ConfigError, match="has no output 'mask'"):
        pf.stream(graph, "src.mask")
    assert list(graph.nodes) == ["src"] and graph.edges == []   # the caller's graph is untouched


def test_recipe_graph_streams_real_masks_and_frames_from_a_real_video(tmp_path, model_cache):
    import av
    path = tmp_path / "in.mp4"
    with av.open(str(path), "w") as container:    # a real 640x480 25 fps H.264 file, a bright square moving
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 640, 480, "yuv420p"
        for i in range(12):
            image = np.full((480, 640, 3), 40, np.uint8)
            image[120:360, 100 + 10 * i:340 + 10 * i] = 220
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    graph = pf.recipe_graph("blur", input=str(path), output="null")
    masks = [p.payload for p in pf.stream(graph, "fringe.mask", policy="block")]
    assert len(masks) == 12
    for mask in masks:
        assert mask.dtype == np.float32 and mask.shape == (480, 640)
        assert 0.0 <= float(mask.min()) and float(mask.max()) <= 1.0
    frames = []
    for packet in pf.stream(graph, "composite.frame"):
        frames.append(packet.payload)
        if len(frames) == 4:
            break
    assert all(f.dtype == np.uint8 and f.shape == (480, 640, 3) for f in frames)
    assert _node_threads() == []


def test_run_takes_a_graph_file_path(tmp_path):
    graph = pf.GraphSpec(name="file").add("src", "t_count", frames=7).add("out", "null_sink")
    graph.connect("src.frame", "out.frame")
    path = tmp_path / "g.toml"
    path.write_text(graph.to_toml())
    stats = pf.run(path)
    assert stats.nodes["out"].processed == 7 and stats.dropped == 0
    assert pf.load_graph(path).nodes["src"].options == {"frames": 7}


def test_the_example_script_runs_and_writes_the_last_frame(tmp_path, model_cache):
    out = tmp_path / "last.png"
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "api_stream.py"), "--frames", "4",
                             "--out", str(out)], capture_output=True, text=True, timeout=300,
                            check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    masks = [line for line in lines if line.startswith("mask")]
    assert len(masks) == 4
    assert all("1280x720" in line and "person" in line for line in masks)
    assert "4 frames in" in result.stdout
    image = cv2.imread(str(out))
    assert image is not None and image.shape == (720, 1280, 3)


INTERRUPTED_LOOP = """
import threading
import portraitflow as pf
graph = pf.GraphSpec().add("capture", "sample_source", frames=100_000, realtime=True, fps=30.0)
try:
    for index, packet in enumerate(pf.stream(graph, "capture.frame")):
        if index == 2:
            print("looping", flush=True)
except KeyboardInterrupt:
    alive = [t.name for t in threading.enumerate() if t.name.startswith("node:")]
    print("interrupted, node threads left:", len(alive), flush=True)
"""


def test_ctrl_c_in_the_loop_stops_the_graph():
    import signal
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_LOOP], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "looping"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "interrupted, node threads left: 0" in out, err
    assert proc.returncode == 0
