"""Receiving a live stream in another process, for the stream tests: tests/outputs/stream_receiver.py
decodes it with PyAV and prints one JSON line per frame. Not for: production code."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

RECEIVER = Path(__file__).resolve().parent.parent / "outputs" / "stream_receiver.py"


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_receiver(url: str, container_format: str, max_frames: int, listen: bool = False) -> subprocess.Popen:
    args = [sys.executable, str(RECEIVER), url, container_format, str(max_frames)]
    args += ["listen"] if listen else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert json.loads(proc.stdout.readline()) == {"ready": True}, proc.stderr.read()
    time.sleep(0.5)            # the receiver binds (UDP) or listens (RTMP) right after saying ready
    return proc


def received(proc: subprocess.Popen, timeout: float = 30, sound: list | None = None) -> list[dict]:
    """The frames the receiver decoded (it ends after its max_frames, or when the stream stops);
    the audio frames it decoded are appended to ``sound`` when given."""
    out, err = proc.communicate(timeout=timeout)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    frames = [line for line in lines if "grey" in line]
    if sound is not None:
        sound.extend(line for line in lines if "audio_time" in line)
    assert frames, f"the receiver decoded nothing: {lines[-5:]} {err[-2000:]}"
    return frames
