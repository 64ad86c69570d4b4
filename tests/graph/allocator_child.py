"""A fresh process that runs a graph passing 1280x720 frames between node threads, then reports how glibc
malloc holds its memory (malloc_info) as JSON: tests/graph/test_allocator.py runs it.

Not for: import by tests (they run it in a subprocess: python allocator_child.py); it needs a process of
its own because the allocator settings are per process and apply to threads started after them.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # tests/: the support nodes

from portraitflow.graph import (
    EndOfStream,
    Frame,
    Node,
    allocator,
    registry,
)
from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec

import support.graph_nodes  # noqa: F401  (t_hoard: fails if a kept frame changes under it)

FRAMES = 40
received: list[tuple[int, int]] = []


class FrameSource(Node):
    """720p frames, every pixel the sequence number (mod 256), a fresh array each."""
    outputs = {"frame": Frame}

    def open(self, ctx):
        self.sent = 0

    def process(self, ctx):
        if self.sent >= FRAMES:
            raise EndOfStream
        ctx.emit("frame", ctx.new_packet(np.full((720, 1280, 3), self.sent % 256, np.uint8)))
        self.sent += 1


class AddOne(Node):
    """A new frame-size array each packet (as every OpenCV stage makes): the input plus one."""
    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        ctx.emit("frame", packet.derive(packet.payload + np.uint8(1)))


class Record(Node):
    inputs = {"frame": Frame}

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        values = np.unique(packet.payload)
        received.append((packet.seq, int(values[0]) if len(values) == 1 else -1))


def malloc_report() -> str:
    libc = ctypes.CDLL(None)
    libc.fdopen.restype = ctypes.c_void_p
    libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.TemporaryFile() as file:
        stream = libc.fdopen(os.dup(file.fileno()), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        file.seek(0)
        return file.read().decode()


def mmapped_blocks() -> int:
    return int(re.search(r'<total type="mmap" count="(\d+)"', malloc_report()).group(1))


def main() -> None:
    for name, cls in (("a_source", FrameSource), ("a_add_one", AddOne), ("a_record", Record)):
        registry.register(name, cls)
    spec = (GraphSpec(name="allocator", queue_size=3).add("src", "a_source").add("one", "a_add_one")
            .add("hoard", "t_hoard", keep=6).add("two", "a_add_one").add("sink", "a_record")
            .connect("src.frame", "one.frame").connect("one.frame", "hoard.frame")
            .connect("hoard.frame", "two.frame").connect("two.frame", "sink.frame"))
    stats = run_graph(spec)
    arenas = len(re.findall(r'<heap nr="\d+">', malloc_report()))
    before = mmapped_blocks()
    block = np.ones(24 * 1024 * 1024, np.uint8)    # a 4K BGR frame's size
    mmapped = mmapped_blocks() - before
    del block
    print(json.dumps({"tuned": allocator.tune_for_frames(), "arenas": arenas, "large_block_mmapped": mmapped,
                      "received": received, "dropped": stats.dropped}))


if __name__ == "__main__":
    main()
