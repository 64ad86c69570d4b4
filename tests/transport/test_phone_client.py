"""The phone stand-in (examples/phone_client.py, no portraitflow import) drives a companion part.

Not for: portraitflow's own link nodes (test_split_run.py).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

CLIENT = Path(__file__).resolve().parents[2] / "examples" / "phone_client.py"
FRAMES = 12

GRAPH = """
[graph]
name = "phone_client"
policy = "block"

[nodes.capture]
type = "video_source"
part = "phone"
options = {{ path = "{video}" }}

[nodes.output]
type = "png_sink"
part = "companion"
inputs = {{ frame = "capture.frame" }}
options = {{ path = "{out}/f_{{seq:04d}}.png" }}
"""


def make_video(path: Path) -> list[np.ndarray]:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for i in range(FRAMES):
            image = np.zeros((96, 160, 3), np.uint8)
            image[:, :, 1] = 20 * i
            cv2.circle(image, (10 + 12 * i, 48), 12, (255, 255, 255), -1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def test_the_client_is_never_imported_from_portraitflow():
    text = CLIENT.read_text(encoding="utf-8")
    assert "portraitflow" not in "".join(line for line in text.splitlines()
                                         if line.startswith(("import", "from")))


@pytest.mark.parametrize("codec", ["raw", "jpeg"])
def test_phone_stand_in_drives_a_companion(tmp_path, codec):
    decoded = make_video(tmp_path / "clip.mp4")
    out = tmp_path / "out"
    out.mkdir()
    graph = tmp_path / "g.toml"
    graph.write_text(GRAPH.format(video=tmp_path / "clip.mp4", out=out), encoding="utf-8")
    address = f"ipc://{tmp_path}/link"
    companion = subprocess.Popen([sys.executable, "-m", "portraitflow.cli.main", "run", "--graph", str(graph),
                                  "--part", "companion", "--bind", address],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    client = subprocess.run([sys.executable, str(CLIENT), str(tmp_path / "clip.mp4"), "--connect", address,
                             "--stream", "capture.frame>companion", "--policy", "block", "--codec", codec],
                            capture_output=True, text=True, timeout=60)
    try:
        _, err = companion.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        companion.kill()
        _, err = companion.communicate()
    assert client.returncode == 0, client.stderr
    assert companion.returncode == 0, err
    assert f"sent {FRAMES} frames, dropped 0" in client.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"f_{i:04d}.png" for i in range(FRAMES)]
    for i in (0, FRAMES // 2, FRAMES - 1):
        got = cv2.imread(str(out / names[i])).astype(np.int16)
        if codec == "raw":
            assert np.array_equal(got, decoded[i])
        else:
            assert np.abs(got - decoded[i]).mean() < 3.0
