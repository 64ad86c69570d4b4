"""The consuming end of a link, as a live source node: packets from another process enter the graph.

Not for: choosing addresses or deriving links from a graph (graph/parts.py does that).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import EndOfStream
from ..kinds import KINDS, AnyKind
from ..node import Context, Node
from ..options import check_ranges
from ..packet import Packet
from . import wire
from .addresses import is_local
from .codecs import PayloadDecoder
from .options import LinkOptions, settings_from
from .receiver import CLOCK_OFFSET_META, LinkReceiver

#: meta key: how far this link moved a restarted sender's capture times forward (0 when not)
TS_SHIFT_META = "link_ts_shift_ns"
#: a restarted sender whose capture times are behind the last ones emitted is moved forward by a
#: whole number of these (about 18 minutes), so every link from that sender moves by the same amount
TS_SHIFT_STEP_NS = 1 << 40


class LinkIn(Node):
    """Receive packets over ZeroMQ with credit-based flow control; capture timestamps are kept as
    sent, and meta ``clock_offset_ns`` (add it to capture_ts_ns to get this process's clock) is set
    from the link's clock estimate so latency figures are right across machines.

    out: packet (Frame or Mask, per the ``kind`` option; anything else is counted and dropped)
    options: address, mode (bind|connect), stream, kind (frame|mask|any), window (credits: packets
             that may be in flight or queued here; 0: from the sender's policy, 1 latest, 4 block),
             end_on_peer_end, keys
    counters: link_received, link_malformed, link_unsynced, link_second_sender, link_overflow,
              link_out_of_order, ... (docs/protocol.md lists them all)

    Timestamps only increase on an output, but a restarted sender (a rebooted phone) may start
    behind: its packets are moved forward by whole multiples of TS_SHIFT_STEP_NS (meta
    ``link_ts_shift_ns``; ``clock_offset_ns`` is lowered by as much, so latency stays right).
    """

    outputs = {"packet": AnyKind}

    @dataclass(frozen=True)
    class Options(LinkOptions):
        mode: str = "bind"
        kind: str = "any"
        window: int = 0                  # 0: 1 for a latest sender, 4 for a block one (its hello says)
        end_on_peer_end: bool = True     # a sender that finishes ends this stream (file to file)

        def __post_init__(self):
            super().__post_init__()
            if self.kind not in KINDS:
                raise ValueError(f"kind must be one of {sorted(KINDS)}, got {self.kind!r}")
            check_ranges(self, window=(0, 64))

    @classmethod
    def live_for(cls, options) -> bool:
        return True     # packets arrive when the other process sends them

    def open(self, ctx: Context) -> None:
        self.kind = KINDS[self.options.kind]
        self.receiver = LinkReceiver(settings_from(self.options, self.id), self.options.window).start()
        self.decoders: dict[bytes, PayloadDecoder] = {}
        self.last_ts: int | None = None
        self.shift_session: bytes | None = None
        self.shift = 0

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
        session, link_seq = header["session"], header["link_seq"]
        decoder = self.decoders.get(session)
        if decoder is None:
            for old in self.decoders.values():
                old.close()
            # a new sending session: fresh H.264 state, and the old session's shm descriptors closed
            decoder = PayloadDecoder(allow_shm=is_local(self.options.address),
                                     max_payload_bytes=self.options.max_payload_mb << 20)
            self.decoders = {session: decoder}
        # a sender offering its shared-memory ring learns whether it can be read from here
        self.receiver.answer_shm_offer(header, decoder.can_map_shm)
        try:
            payload = decoder.decode(header, frame.buffer)
        except wire.WireError:
            ctx.count("link_undecodable")
            self.receiver.release(session, link_seq)
            return None
        if self.kind is not AnyKind and self.kind.check(payload) is not None:
            ctx.count("link_wrong_kind")
            self.receiver.release(session, link_seq)
            return None
        ts = header["capture_ts_ns"]
        if session != self.shift_session:
            self.shift_session = session
            behind = -1 if self.last_ts is None else self.last_ts - ts
            self.shift = 0 if behind < 0 else (behind // TS_SHIFT_STEP_NS + 1) * TS_SHIFT_STEP_NS
            if self.shift:
                ctx.count("link_ts_shifted_sessions")
        ts += self.shift
        if self.last_ts is not None and ts <= self.last_ts:
            ctx.count("link_out_of_order")
            self.receiver.release(session, link_seq)
            return None
        self.last_ts = ts
        # acknowledged once the graph has let go of every array using this memory: views collapse
        # to the object that owns it (the array, or for raw payloads the ZeroMQ frame's buffer)
        owner = payload
        while isinstance(owner, np.ndarray) and owner.base is not None:
            owner = owner.base
        weakref.finalize(owner, self.receiver.release, session, link_seq).atexit = False
        del owner
        meta = dict(header.get("meta", {}))
        meta[CLOCK_OFFSET_META] = offset - self.shift
        if self.shift:
            meta[TS_SHIFT_META] = self.shift
        return Packet(payload, ts, header["seq"], meta)

    def close(self, ctx: Context) -> None:
        receiver = getattr(self, "receiver", None)
        if receiver is not None:
            receiver.close()
            ctx.counters.update(receiver.counters)
        for decoder in getattr(self, "decoders", {}).values():
            decoder.close()
