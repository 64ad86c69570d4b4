"""Stream sinks: H.264 over MPEG-TS/UDP and FLV/RTMP, decoded by a real PyAV receiver on loopback."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from portraitflow.devices.stream_sink import StreamSink
from portraitflow.graph import ConfigError, DeviceError
from portraitflow.graph.packet import Packet
from portraitflow.graph.testing import NodeHarness, make_node, packets, run_node

RECEIVER = Path(__file__).with_name("stream_receiver.py")
FRAMES = 80
WIDTH, HEIGHT = 320, 240


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def numbered_frame(i: int) -> np.ndarray:
    """Frame i: grey level 30 + 2i in the lower half, a white square at x = 16 + 3i in the top band."""
    image = np.full((HEIGHT, WIDTH, 3), 30 + 2 * i, np.uint8)
    image[8:48, 16 + 3 * i - 12:16 + 3 * i + 12] = 255
    return image


def index_from_square(square_x: float) -> int:
    return round((square_x + 0.5 - 16) / 3)


def start_receiver(url: str, container_format: str, listen: bool = False,
                   max_frames: int = FRAMES + 10) -> subprocess.Popen:
    args = [sys.executable, str(RECEIVER), url, container_format, str(max_frames)]
    args += ["listen"] if listen else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline()) == {"ready": True}, proc.stderr.read()
    time.sleep(0.5)            # the receiver binds (UDP) or listens (RTMP) right after saying ready
    return proc


def send(url: str, frames: list[np.ndarray] | None = None, fps: float = 60.0) -> None:
    """Feed the sink at a camera's pace (a burst would overflow a UDP receiver's buffer)."""
    images = frames or [numbered_frame(i) for i in range(FRAMES)]
    NodeHarness(StreamSink, {"url": url, "keyframe_seconds": 0.2, "fps": fps}, pace=True).run(
        {"frame": packets(images, start_ns=time.monotonic_ns(), period_ns=int(1e9 / fps))})


def received(proc: subprocess.Popen) -> list[dict]:
    out, err = proc.communicate(timeout=20)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    frames = [line for line in lines if "grey" in line]
    assert frames, f"the receiver decoded nothing: {lines} {err[-2000:]}"
    return frames


def check_frames(frames: list[dict], minimum: int) -> None:
    assert len(frames) >= minimum
    indices = []
    for frame in frames:
        assert (frame["width"], frame["height"]) == (WIDTH, HEIGHT)
        index = index_from_square(frame["square_x"])
        # the grey level tells the same frame index as the square's position: a whole, right frame
        assert frame["grey"] == pytest.approx(30 + 2 * index, abs=3)
        indices.append(index)
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert indices[-1] == FRAMES - 1          # the encoder was flushed: the last frame arrives


def test_mpegts_over_udp_is_decoded_frame_by_frame():
    url = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    proc = start_receiver(url, "mpegts")
    try:
        send(url)
        frames = received(proc)
    finally:
        proc.kill()
    # a receiver joins at the first keyframe: every frame after it arrives
    check_frames(frames, minimum=FRAMES * 3 // 4)


def test_rtmp_to_a_listening_server_is_decoded_frame_by_frame():
    url = f"rtmp://127.0.0.1:{free_port()}/live/portrait"
    proc = start_receiver(url, "flv", listen=True)
    try:
        send(url)
        frames = received(proc)
    finally:
        proc.kill()
    check_frames(frames, minimum=FRAMES)   # TCP: nothing lost, from the very first frame


def test_rtmp_without_a_server_names_the_url():
    url = f"rtmp://127.0.0.1:{free_port()}/live/nobody"
    node = make_node(StreamSink, {"url": url})
    with pytest.raises(DeviceError, match=f"stream {url}.*RTMP server"):
        run_node(node, {"frame": [Packet(numbered_frame(0), 1, 0)]})


def test_odd_frame_sizes_are_cropped_to_even_and_bgra_is_accepted():
    url = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    proc = start_receiver(url, "mpegts")
    try:
        opaque = np.full((HEIGHT, WIDTH), 255, np.uint8)
        frames = [np.dstack([numbered_frame(i), opaque]) for i in range(FRAMES)]
        send(url, [np.pad(f, ((0, 1), (0, 1), (0, 0))) for f in frames])     # 321x241 BGRA
        got = received(proc)
    finally:
        proc.kill()
    check_frames(got, minimum=FRAMES * 3 // 4)


@pytest.mark.parametrize("options, field", [
    ({"url": "http://example.com/x"}, "url"),
    ({"fps": -1}, "fps"),
    ({"bitrate_kbps": 10}, "bitrate_kbps"),
    ({"preset": "slowest"}, "preset"),
])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ConfigError, match=field):
        make_node(StreamSink, options)
