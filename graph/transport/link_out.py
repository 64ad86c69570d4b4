"""The producing end of a link, as a sink node: packets on its input go to another process.

Not for: choosing addresses or deriving links from a graph (graph/parts.py does that).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..kinds import AnyKind
from ..node import Context, Node
from ..options import check_ranges
from .addresses import is_local
from .codecs import make_encoder
from .options import LinkOptions, settings_from
from .sender import LinkSender

POLICIES = ("latest", "block")


def same_host(address: str) -> bool:
    """ipc:// or loopback tcp: where both ends can map the same shared memory."""
    return address.startswith("ipc://") or (address.startswith("tcp://") and is_local(address))


CODECS = ("raw", "jpeg", "h264", "mask8", "shm")


class LinkOut(Node):
    """Send each packet (frame or mask) over ZeroMQ, only when the receiver has granted credit.

    in: packet (Frame or Mask; the kind travels in the header)
    options: address, mode (bind|connect), stream, policy (latest: keep only the newest unsent
             packet, counting drops; block: wait for credit), codec (raw|jpeg|h264|mask8|shm: same host only), keys
    example: `portraitflow run --graph G --part phone --connect tcp://laptop:5555` (graph/parts.py)
    counters: link_sent, link_dropped (latest), link_peer_restarts, link_peer_lost, link_resent (block),
              link_second_receiver, ... (docs/protocol.md lists them all)

    One receiver at a time; ``block`` keeps sent packets until the receiver acknowledges them and
    sends them again to a restarted receiver, so nothing is lost (sender.py).
    """

    inputs = {"packet": AnyKind}

    @dataclass(frozen=True)
    class Options(LinkOptions):
        policy: str = "latest"
        codec: str = "raw"
        jpeg_quality: int = 85
        h264_crf: int = 23
        fps: float = 30.0                # for the H.264 rate control only
        flush_timeout_s: float = 0.0     # at the end: wait this long for credit (0: 1 s latest, 60 s block)
        shm_slots: int = 8               # codec shm: ring slots; must exceed the receiver's window

        def __post_init__(self):
            super().__post_init__()
            if self.policy not in POLICIES:
                raise ValueError(f"policy must be 'latest' or 'block', got {self.policy!r}")
            if self.codec not in CODECS:
                raise ValueError(f"codec must be one of {CODECS}, got {self.codec!r}")
            check_ranges(self, jpeg_quality=(1, 100), h264_crf=(0, 51), shm_slots=(2, 64))
            if self.codec == "shm" and not same_host(self.address):
                raise ValueError(f"codec 'shm' needs a same-host address (ipc:// or tcp://127.0.0.1 / "
                                 f"localhost), got {self.address!r}")

    def open(self, ctx: Context) -> None:
        o = self.options
        encoder = make_encoder(o.codec, jpeg_quality=o.jpeg_quality, h264_crf=o.h264_crf, fps=o.fps,
                               shm_slots=o.shm_slots)
        self.sender = LinkSender(settings_from(o, self.id), encoder, block=o.policy == "block").start()

    def process(self, ctx: Context) -> None:
        self.sender.offer(ctx.inputs["packet"])
        ctx.counters.update(self.sender.counters)

    def close(self, ctx: Context) -> None:
        sender = getattr(self, "sender", None)
        if sender is None:
            return
        o = self.options
        try:
            sender.finish(o.flush_timeout_s or (60.0 if o.policy == "block" else 1.0))
        finally:
            sender.close()
            ctx.counters.update(sender.counters)
