"""End to end through real devices: a PyAV-made video through real nodes to a real MP4, and Ctrl-C."""
from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np

from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec

import support.graph_nodes  # noqa: F401  (registers t_collect)
from support.graph_nodes import Collect


def make_video(path: Path, frames: int = 40, size=(320, 240)) -> None:
    w, h = size
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        x = np.arange(w, dtype=np.int32)[None, :, None]
        for i in range(frames):
            img = ((x + i * 4) % 256).astype(np.uint8).repeat(h, 0).repeat(3, 2)
            img[:, :, 1] = i * 5 % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode_count(path: Path) -> tuple[int, tuple[int, int]]:
    with av.open(str(path)) as container:
        frames = [f for f in container.decode(video=0)]
    return len(frames), (frames[-1].width, frames[-1].height)


def test_video_file_through_real_nodes_to_mp4_keeps_every_frame(tmp_path):
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_video(src, frames=40)
    spec = (GraphSpec(name="e2e")
            .add("capture", "video_source", path=str(src))
            .add("downscale", "downscale", max_width=160, max_height=120)
            .add("output", "video_sink", path=str(dst))
            .add("watch", "t_collect", key="e2e")
            .connect("capture.frame", "downscale.frame")
            .connect("downscale.frame", "output.frame")
            .connect("downscale.frame", "watch.frame"))
    stats = run_graph(spec)
    assert stats.dropped == 0
    got = Collect.received["e2e"]
    assert len(got) == 40
    ts = [f.capture_ts_ns for f, _ in got]
    assert all(b > a for a, b in itertools.pairwise(ts))
    assert all(f.payload.shape == (120, 160, 3) for f, _ in got)
    count, size = decode_count(dst)
    assert count == 40 and size == (160, 120)


def test_sigint_leaves_a_playable_mp4_with_every_frame_written(tmp_path):
    graph = tmp_path / "g.toml"
    out = tmp_path / "live.mp4"
    graph.write_text(f"""
[nodes.capture]
type = "sample_source"
options = {{ frames = 100000, realtime = true }}
[nodes.output]
type = "video_sink"
inputs = {{ frame = {{ from = "capture.frame", policy = "block" }} }}
options = {{ path = "{out}" }}
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "portraitflow", "run", "--graph", str(graph)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.2)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    written = int(re.search(r"(\d+) frames out", stderr).group(1))
    assert written > 10
    count, _ = decode_count(out)
    assert count == written
