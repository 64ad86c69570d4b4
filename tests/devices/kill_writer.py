"""Run as a script: write N numbered frames through VideoSink, then SIGKILL ourselves before close().

Not for: import by tests (they run it in a subprocess: python kill_writer.py PATH N).
"""
from __future__ import annotations

import os
import signal
import sys

from portraitflow.devices.video_sink import VideoSink
from portraitflow.graph.node import Context
from portraitflow.graph.packet import Packet
from portraitflow.graph.testing import make_node

from device_helpers import numbered_frame


def main(path: str, frames: int) -> None:
    sink = make_node(VideoSink, {"path": path, "fps": 30.0, "keyframe_s": 0.5})
    ctx = Context("sink", lambda port, packet: None)
    sink.open(ctx)
    for i in range(frames):
        ctx.inputs = {"frame": Packet(numbered_frame(i), 1_000_000_000 + i * 33_333_333, i)}
        sink.process(ctx)
    os.kill(os.getpid(), signal.SIGKILL)     # no close(), no interpreter exit: like kill -9


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
