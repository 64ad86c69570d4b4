"""Small real nodes for runtime tests: a counting source, a slow stage, a failing stage, a collector,
a stage that keeps references to past frames.

Not for: production graphs; these exercise the runtime's queues, pairing and errors.
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from portraitflow.graph import EndOfStream, Frame, Mask, Node, Pairing, registry


class CountingSource(Node):
    """Emits small frames: channel 0 is the sequence number (mod 256), channel 1 the column index."""

    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        frames: int = 10
        fps: float = 0.0          # 0: as fast as possible
        live: bool = False

    @classmethod
    def live_for(cls, options) -> bool:
        return options.live

    def open(self, ctx):
        self.sent = 0
        self.next_due = None          # the clock starts with the first frame, not at open()

    def process(self, ctx):
        if self.sent >= self.options.frames:
            raise EndOfStream
        if self.options.fps:
            if self.next_due is None:
                self.next_due = time.monotonic()
            delay = self.next_due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.next_due += 1.0 / self.options.fps
        frame = np.zeros((8, 8, 3), np.uint8)
        frame[:, :, 0] = self.sent % 256
        frame[:, :, 1] = np.arange(8, dtype=np.uint8)
        ctx.emit("frame", ctx.new_packet(frame))
        self.sent += 1


class Slow(Node):
    """Passes frames on after sleeping."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        seconds: float = 0.05

    def process(self, ctx):
        time.sleep(self.options.seconds)
        ctx.emit("frame", ctx.inputs["frame"])


class Hoard(Node):
    """Passes frames on and keeps the last ``keep`` of them referenced, like a node with a history;
    fails if any kept frame changes afterwards (memory reused under it)."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        keep: int = 10

    def open(self, ctx):
        self.kept = deque(maxlen=self.options.keep)

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        self.kept.append((packet, _checksum(packet.payload)))
        for old, checksum in self.kept:
            if _checksum(old.payload) != checksum:
                raise AssertionError(f"frame seq {old.seq} changed while it was kept")
        ctx.emit("frame", packet)


def _checksum(frame: np.ndarray) -> int:
    return int(frame.sum(dtype=np.uint64))


class FailAt(Node):
    """Raises on the n-th packet."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        at: int = 3

    def open(self, ctx):
        self.seen = 0

    def process(self, ctx):
        self.seen += 1
        if self.seen == self.options.at:
            raise ValueError("boom")
        ctx.emit("frame", ctx.inputs["frame"])


class ToMask(Node):
    """Frame -> mask (its first channel / 255), after a delay, so masks arrive later than frames."""

    inputs = {"frame": Frame}
    outputs = {"mask": Mask}

    @dataclass(frozen=True)
    class Options:
        seconds: float = 0.0
        skip_every: int = 0       # drop every n-th mask, to test pairing fallbacks
        only_every: int = 0       # emit only every n-th mask (a node that emits less often than queues hold)

    def open(self, ctx):
        self.seen = 0

    def process(self, ctx):
        self.seen += 1
        time.sleep(self.options.seconds)
        if self.options.skip_every and self.seen % self.options.skip_every == 0:
            return
        if self.options.only_every and (self.seen - 1) % self.options.only_every:
            return
        packet = ctx.inputs["frame"]
        ctx.emit("mask", packet.derive(packet.payload[:, :, 0].astype(np.float32) / 255.0))


class DelayedMask(Node):
    """Frame -> mask one call late: each call emits the mask of the frame before (a delay line); it says
    so (``emits_later``), so a node pairing with it waits for the mask itself."""

    inputs = {"frame": Frame}
    outputs = {"mask": Mask}
    emits_later = True

    def open(self, ctx):
        self.held = None

    def process(self, ctx):
        if self.held is not None:
            ctx.emit("mask", self.held)
        packet = ctx.inputs["frame"]
        self.held = packet.derive(packet.payload[:, :, 0].astype(np.float32) / 255.0)


class HoldingMask(ToMask):
    """ToMask that says it emits later (``emits_later``) and so never settles a timestamp: with skip_every=1
    a node pairing with it on a BLOCK edge waits for ever (what abort must end)."""

    emits_later = True


class Collect(Node):
    """A sink that remembers what it got, as (frame packet, mask packet or None)."""

    inputs = {"frame": Frame, "mask": Mask}
    optional_inputs = frozenset({"mask"})
    pairing = Pairing(primary="frame", wait_ms=200.0, max_age_ms=1000.0)
    received: dict[str, list] = {}

    @dataclass(frozen=True)
    class Options:
        key: str = "default"
        seconds: float = 0.0

    def open(self, ctx):
        self.got = Collect.received.setdefault(self.options.key, [])
        self.got.clear()

    def process(self, ctx):
        time.sleep(self.options.seconds)
        self.got.append((ctx.inputs["frame"], ctx.inputs.get("mask")))


for name, cls in {"t_count": CountingSource, "t_slow": Slow, "t_fail": FailAt, "t_mask": ToMask,
                  "t_collect": Collect, "t_hoard": Hoard,
                  "t_delayed_mask": DelayedMask, "t_holding_mask": HoldingMask}.items():
    registry.register(name, cls)
