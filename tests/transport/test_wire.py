"""The wire format and codecs on their own: round trips, zero-copy receive, and hostile input.

Not for: sockets and processes (the other transport tests).
"""
from __future__ import annotations

import random

import cv2
import msgpack
import numpy as np
import pytest

from portraitflow.graph.transport import wire
from portraitflow.graph.transport.clock import ClockOffset
from portraitflow.graph.transport.codecs import PayloadDecoder, make_encoder
from portraitflow.graph.transport.h264 import H264Decoder, H264Encoder

SENDER, RECEIVER = bytes(range(16)), bytes(range(16, 32))


def data_header(fields: dict, **extra) -> dict:
    return {"v": 2, "kind": "data", "session": SENDER, "receiver_session": RECEIVER, "stream": "a.frame>b",
            "link_seq": 0, "seq": 3,
            "capture_ts_ns": 10, "sender_ts_ns": 11, "meta": {}, **fields, **extra}


def frame(h: int = 72, w: int = 128) -> np.ndarray:
    rng = np.random.default_rng(1)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (9, 9), 3)


def roundtrip(codec: str, payload: np.ndarray) -> np.ndarray:
    fields, buffer = make_encoder(codec).encode(payload)
    header = wire.unpack(wire.pack(data_header(fields)))
    return PayloadDecoder().decode(header, memoryview(np.ascontiguousarray(buffer)).cast("B"))


def test_raw_frames_arrive_as_a_view_of_the_received_buffer():
    original = frame()
    fields, buffer = make_encoder("raw").encode(original)
    received = bytearray(memoryview(buffer).cast("B"))          # what ZeroMQ hands over
    decoded = PayloadDecoder().decode(wire.unpack(wire.pack(data_header(fields))), memoryview(received))
    assert np.array_equal(decoded, original)
    assert np.shares_memory(decoded, np.frombuffer(received, np.uint8))   # no copy on receive


def test_masks_round_trip_raw_exactly_and_mask8_within_half_a_step():
    mask = np.linspace(0, 1, 64 * 48, dtype=np.float32).reshape(48, 64)
    assert np.array_equal(roundtrip("raw", mask), mask)
    quantised = roundtrip("mask8", mask)
    assert quantised.dtype == np.float32 and quantised.shape == mask.shape
    assert np.abs(quantised - mask).max() <= 0.5 / 255 + 1e-6


def test_jpeg_frames_round_trip_close_and_a_lying_header_is_refused():
    original = frame()
    assert np.abs(roundtrip("jpeg", original).astype(int) - original).mean() < 3
    fields, buffer = make_encoder("jpeg").encode(original)
    header = wire.unpack(wire.pack(data_header({**fields, "shape": [720, 1280, 3]})))
    with pytest.raises(wire.WireError, match="header says"):
        PayloadDecoder().decode(header, memoryview(buffer).cast("B"))


def test_h264_decodes_every_frame_at_once_and_needs_a_keyframe_after_a_restart():
    encoder, decoder = H264Encoder(), H264Decoder()
    original = frame(96, 160)
    for i in range(5):
        shifted = np.roll(original, 4 * i, axis=1)
        fields, data = encoder.encode(shifted)
        out = decoder.decode(data_header(fields), data)          # no frame held back
        assert np.abs(out.astype(int) - shifted).mean() < 4
    fields, p_frame = encoder.encode(original)
    with pytest.raises(wire.WireError):
        H264Decoder().decode(data_header(fields), p_frame)        # a fresh decoder cannot start on a P-frame
    encoder.new_receiver()
    fields, key = encoder.encode(original)
    assert H264Decoder().decode(data_header(fields), key).shape == (96, 160, 3)


@pytest.mark.parametrize("field,value,message", [
    ("v", 1, "version"), ("kind", "nope", "kind"), ("session", 5, "session"), ("session", b"x" * 15, "session"),
    ("receiver_session", None, "receiver_session"), ("link_seq", 2**63, "link_seq"),
    ("capture_ts_ns", 2**63, "capture_ts_ns"), ("meta", {"clock_offset_ns": -(2**63 - 1)}, "clock_offset"), ("kind", [1], "kind"), ("shape", [0, 5, 3], "size"),
    ("shape", [9000, 5, 3], "size"), ("shape", [5, 5, 2], "channels"), ("dtype", "float64", "dtype"),
    ("codec", "gif", "codec"), ("seq", -1, "seq"), ("capture_ts_ns", "now", "capture_ts_ns"),
    ("stream", "", "stream"), ("meta", [1, 2], "meta"), ("pixel_format", {"a": 1}, "pixel_format"),
])
def test_bad_header_fields_are_named(field, value, message):
    header = data_header({"shape": [4, 4, 3], "dtype": "uint8", "pixel_format": "bgr24", "codec": "raw"})
    header[field] = value
    with pytest.raises(wire.WireError, match=message):
        wire.unpack(msgpack.packb(header))


def test_thousands_of_mutations_only_ever_raise_wire_errors():
    rng = random.Random(3)
    fields, buffer = make_encoder("raw").encode(frame(8, 8))
    packed = wire.pack(data_header(fields))
    payload = bytes(memoryview(buffer).cast("B"))
    decoder = PayloadDecoder()
    accepted = 0
    for i in range(5000):
        raw = bytearray(packed)
        for _ in range(rng.randint(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        body = payload if i % 2 else rng.randbytes(rng.randint(0, 400))
        try:
            decoder.decode(wire.unpack(bytes(raw)), body)
            accepted += 1
        except wire.WireError:
            pass
    assert accepted < 5000                 # most mutations are caught; none raised anything else


def test_clock_offset_prefers_the_exchange_with_the_shortest_round_trip():
    clock = ClockOffset()
    true_offset = 5_000_000                    # peer is 5 ms ahead
    clock.add(0, 100_000 + true_offset + 3_000_000, 150_000 + true_offset + 3_000_000, 300_000 + 3_000_000)
    clock.add(1_000_000, 1_100_000 + true_offset, 1_150_000 + true_offset, 1_250_000)
    assert abs(clock.offset_ns - true_offset) < 60_000
    assert clock.round_trip_ns == 200_000
    assert not clock.add(10, 0, 100, 5)        # negative round trip: forged, ignored
    assert clock.round_trip_ns == 200_000


def test_a_pong_whose_offset_jumps_beyond_its_round_trips_is_refused():
    clock = ClockOffset()
    assert clock.add(0, 5_000_100, 5_000_200, 300)               # peer 5 ms ahead, 0.2 ms round trip
    # 10 ms further with a 0.2 ms round trip: no honest exchange can say that
    assert not clock.add(1_000_000, 16_000_100, 16_000_200, 1_000_300)
    assert not clock.add(2_000_000, 2**62, 2**62, 2_000_300)     # int64 games
    assert not clock.add(3_000_000, 8_000_200, 8_000_100, 3_000_300)   # pong sent before the ping arrived
    assert clock.add(4_000_000, 9_000_500, 9_000_600, 4_000_900)       # 0.4 ms later: within the slack
    assert abs(clock.offset_ns - 5_000_000) < 500


def credit(**extra) -> dict:
    return {"v": 2, "kind": "credit", "session": RECEIVER, "stream": "a.frame>b", "sender_session": SENDER,
            "allowed": 12, "received": 1, "held": [], "acked": 0, "window": 4, **extra}


def test_a_credit_lists_held_slots_only_below_received_and_within_bounds():
    assert wire.unpack(wire.pack(credit()))["allowed"] == 12
    assert wire.unpack(wire.pack(credit(received=10, held=[3, 9])))["held"] == [3, 9]
    for bad in ({"held": [1]}, {"received": 10, "held": [10]},
                {"received": 10, "held": [-1]}, {"received": 10, "held": ["3"]}, {"received": 10, "held": [True]},
                {"received": 100, "held": list(range(wire.MAX_HELD + 1))}, {"received": 10, "held": 7}):
        with pytest.raises(wire.WireError, match="received|held"):
            wire.unpack(wire.pack(credit(**bad)))
    for field, bad in (("window", 0), ("window", 65), ("acked", -1), ("sender_session", 5)):
        with pytest.raises(wire.WireError, match=field):
            wire.unpack(wire.pack(credit(**{field: bad})))


def test_the_shm_offer_and_its_answer_are_checked():
    fields, _ = make_encoder("raw").encode(frame())
    offer = data_header(fields, shm_offer="pfshm_1_0000000000000005_1")
    assert wire.unpack(wire.pack(offer))["shm_offer"] == offer["shm_offer"]
    for bad in (7, b"x", "x" * 65):
        with pytest.raises(wire.WireError, match="shm_offer"):
            wire.unpack(wire.pack(data_header(fields, shm_offer=bad)))
    assert wire.unpack(wire.pack(credit(received=1, held=[], shm=False)))["shm"] is False
    for bad in (1, "yes", None):
        with pytest.raises(wire.WireError, match="shm"):
            wire.unpack(wire.pack(credit(received=1, held=[], shm=bad)))
