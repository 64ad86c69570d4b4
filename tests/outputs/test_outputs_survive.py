"""Sinks and sources in the real world, through `portraitflow run` in a real process: a full disk, a disk
that fills mid-recording, an unwritable directory, a receiver that goes away, a damaged packet in the
input, a frame of another size. Each ends with one clear line and a non-zero exit (never a crash),
keeps what was written, or goes on and counts."""
from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support.media_files import probe, write_clip
from support.stream_receiving import free_port, received, start_receiver

DEVICE_ERROR_EXIT = 4


def run_cli(*args: str, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portraitflow", "run", "--quiet", *args],
                          capture_output=True, text=True, timeout=300, preexec_fn=preexec_fn)


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == DEVICE_ERROR_EXIT, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in lines[0]


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_a_full_disk_is_one_clear_error_not_a_segfault(tmp_path, ext):
    out = tmp_path / f"full.{ext}"
    out.symlink_to("/dev/full")         # every write fails with ENOSPC, as on a full disk
    result = run_cli("--max-frames", "30", "--output", str(out))
    assert result.returncode != -signal.SIGSEGV
    assert_one_line_error(result, str(out), "No space left on device")


def _small_disk(limit_bytes: int):
    def limit() -> None:
        # a disk that fills up after limit_bytes: writes past it fail with EFBIG (SIGXFSZ ignored,
        # as a full disk sends no signal either)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return limit


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_a_disk_filling_mid_recording_keeps_what_was_written(tmp_path, ext):
    src = write_clip(tmp_path / "in.mkv", fps=25, frames=150, audio_codec=None)
    out = tmp_path / f"out.{ext}"
    result = run_cli("--input", str(src), "--output", str(out), preexec_fn=_small_disk(60_000))
    assert_one_line_error(result, str(out), "cannot write")
    assert 0 < out.stat().st_size <= 60_000
    kept = probe(out, cut_short=True)
    assert 10 <= kept.frames < 150          # the fragments / clusters completed before the error
    assert kept.fps == pytest.approx(25, rel=0.02)


def test_an_unwritable_directory_is_one_clear_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):      # root ignores permissions: sysfs refuses new files to anyone
        folder = Path("/sys")
    out = folder / "out.mp4"
    result = run_cli("--max-frames", "5", "--output", str(out))
    assert_one_line_error(result, str(out))
    assert not out.exists()


def test_a_receiver_that_goes_away_ends_the_stream_cleanly():
    url = f"rtmp://127.0.0.1:{free_port()}/live/gone"
    receiver = start_receiver(url, "flv", 20, listen=True)    # hangs up after 20 frames
    try:
        result = run_cli("--input", "sample", "--output", url)
        frames = received(receiver)
    finally:
        receiver.kill()
    assert len(frames) == 20
    assert_one_line_error(result, f"stream {url}: sending failed")


@pytest.mark.parametrize("container", ["mkv", "ts"])
def test_a_damaged_packet_mid_file_is_skipped_and_counted(tmp_path, container):
    src = write_clip(tmp_path / f"damaged.{container}", fps=25, frames=100, corrupt_packet=50)
    out = tmp_path / "out.mkv"
    result = subprocess.run([sys.executable, "-m", "portraitflow", "run", "--input", str(src),
                             "--output", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "decode_errors=1" in result.stderr
    output = probe(out)
    assert output.frames == 99
    # the frame after the damaged one keeps its place in time: the gap shows, nothing shifts
    assert output.frame_times[-1] == pytest.approx(99 / 25, abs=0.002)
    assert output.audio_seconds == pytest.approx(4.0, abs=0.05)


def test_a_frame_of_another_size_is_letterboxed_into_the_stream():
    from portraitflow.devices.stream_sink import StreamSink
    from portraitflow.graph.packet import Packet
    from portraitflow.graph.testing import NodeHarness

    url = f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
    receiver = start_receiver(url, "mpegts", 40)
    feed = [Packet(np.full((240, 640, 3) if i == 20 else (480, 640, 3), 200, np.uint8),   # one half-height
                   1_000_000_000 + i * 33_333_333, i) for i in range(40)]
    try:   # paced at the packets' 30 fps (a burst would overflow the receiver's UDP buffer)
        result = NodeHarness(StreamSink, {"url": url, "keyframe_seconds": 0.2}, pace=True).run({"frame": feed})
    finally:
        frames = received(receiver)
        receiver.kill()
    assert result.counters["frames_letterboxed"] == 1
    assert all((f["width"], f["height"]) == (640, 480) for f in frames)
    assert len(frames) >= 30
