"""The consuming end of a link, as a live source node: packets from another process enter the graph.

Not for: choosing addresses or deriving links from a graph (graph/parts.py does that).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..options import check_ranges
from ..errors import EndOfStream
from ..kinds import KINDS, AnyKind
from ..node import Context, Node
from ..packet import Packet
from . import wire
from .codecs import PayloadDecoder
from .link import CLOCK_OFFSET_META, LinkReceiver
from .options import LinkOptions, settings_from
from .security import is_local


class LinkIn(Node):
    """Receive packets over ZeroMQ with credit-based flow control; capture timestamps are kept as
    sent, and meta ``clock_offset_ns`` (add it to capture_ts_ns to get this process's clock) is set
    from the link's clock estimate so latency figures are right across machines.

    out: packet (Frame or Mask, per the ``kind`` option; anything else is counted and dropped)
    options: address, mode (bind|connect), stream, kind (frame|mask|any), window (credits: packets
             that may be in flight or queued here), end_on_peer_end, keys
    counters: link_received, link_malformed, link_unsynced, link_overflow, link_out_of_order, ...
    """

    outputs = {"packet": AnyKind}

    @dataclass(frozen=True)
    class Options(LinkOptions):
        mode: str = "bind"
        kind: str = "any"
        window: int = 2
        end_on_peer_end: bool = True     # a sender that finishes ends this stream (file to file)

        def __post_init__(self):
            super().__post_init__()
            if self.kind not in KINDS:
                raise ValueError(f"kind must be one of {sorted(KINDS)}, got {self.kind!r}")
            check_ranges(self, window=(1, 64))

    @classmethod
    def live_for(cls, options) -> bool:
        return True     # packets arrive when the other process sends them

    def open(self, ctx: Context) -> None:
        self.kind = KINDS[self.options.kind]
        self.receiver = LinkReceiver(settings_from(self.options, self.id), self.options.window).start()
        self.decoders: dict[int, PayloadDecoder] = {}
        self.last_ts: int | None = None

    def process(self, ctx: Context) -> None:
        receiver = self.receiver
        item = receiver.take(0.1)
        ctx.counters.update(receiver.counters)
        if item is None:
            return
        what, header, frame, offset = item
        try:
            if what == wire.END:
                if self.options.end_on_peer_end:
                    raise EndOfStream
                return
            packet = self._packet(ctx, header, frame, offset)
            if packet is not None:
                ctx.emit("packet", packet)
        finally:
            receiver.done()

    def _packet(self, ctx: Context, header: dict, frame, offset: int) -> Packet | None:
        decoder = self.decoders.get(header["session"])
        if decoder is None:
            for old in self.decoders.values():
                old.close()
            # a new sending session: fresh H.264 state, and the old session's shm mappings closed
            decoder = PayloadDecoder(allow_shm=is_local(self.options.address),
                                     max_payload_bytes=self.options.max_payload_mb << 20)
            self.decoders = {header["session"]: decoder}
        # a sender offering its shared-memory ring learns whether it can be read from here
        self.receiver.answer_shm_offer(header, decoder.can_map_shm)
        try:
            # shm frames may arrive as read-only views of the sender's ring (no copy), kept until
            # the graph drops them; the receiver decides how many it can keep
            payload = decoder.decode(header, frame.buffer, self.receiver.lease)
        except wire.WireError:
            ctx.count("link_undecodable")
            return None
        if self.kind is not AnyKind and self.kind.check(payload) is not None:
            ctx.count("link_wrong_kind")
            return None
        ts = header["capture_ts_ns"]
        if self.last_ts is not None and ts <= self.last_ts:
            ctx.count("link_out_of_order")
            return None
        self.last_ts = ts
        meta = dict(header.get("meta", {}))
        meta[CLOCK_OFFSET_META] = offset
        return Packet(payload, ts, header["seq"], meta)

    def close(self, ctx: Context) -> None:
        receiver = getattr(self, "receiver", None)
        if receiver is not None:
            receiver.close()
            ctx.counters.update(receiver.counters)
        for decoder in getattr(self, "decoders", {}).values():
            decoder.close()
