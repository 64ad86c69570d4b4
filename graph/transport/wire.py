"""The link wire format: message kinds, header fields, limits, and strict checks on what arrives.

Not for: pixel codecs (codecs.py) or sockets (link.py). docs/protocol.md is the full specification;
every check here drops a message by raising WireError, which the link counts; nothing is unpickled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from ..packet import CLOCK_OFFSET_KEY

PROTOCOL_VERSION = 2

DATA, CREDIT, HELLO, PING, PONG, END, END_ACK = "data", "credit", "hello", "ping", "pong", "end", "end_ack"
MESSAGE_KINDS = frozenset({DATA, CREDIT, HELLO, PING, PONG, END, END_ACK})
ROLES = frozenset({"sender", "receiver"})

DTYPES = {"uint8": 1, "float32": 4}
PIXEL_FORMATS = frozenset({"bgr24", "bgra", "mask"})
CODECS = frozenset({"raw", "jpeg", "h264", "mask8", "shm"})
UINT64_MAX = 2**64 - 1
INT64_MAX = 2**63 - 1
#: session ids and ping cookies: msgpack bin of exactly this many bytes
SESSION_BYTES = 16
COOKIE_BYTES = 16
#: |meta.clock_offset_ns| above this (about 36 years) is refused: no clock is that far off
MAX_CLOCK_OFFSET_NS = 1 << 60
POLICIES = frozenset({"latest", "block"})
#: meta key on received packets: add it to capture_ts_ns to get the receiving process's clock (defined
#: once, in graph/packet.py, which the runner's latency figures read too)
CLOCK_OFFSET_META = CLOCK_OFFSET_KEY
MAX_WINDOW = 64


class WireError(ValueError):
    """A message that breaks the protocol: it is counted and dropped, never fatal."""


@dataclass(frozen=True)
class Limits:
    """Caps checked before anything is allocated for a message."""

    max_side: int = 8192                 # width or height, pixels
    max_payload_bytes: int = 64 << 20    # one payload buffer
    max_header_bytes: int = 64 << 10
    max_meta_items: int = 64
    max_stream_chars: int = 200


DEFAULT_LIMITS = Limits()


def pack(header: dict[str, Any]) -> bytes:
    """Encode a header (msgpack map with string keys, binary as bin)."""
    return msgpack.packb(header, use_bin_type=True)


def unpack(buffer: bytes | memoryview, limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Decode and check the fields common to every message; raise WireError when anything is off."""
    if len(buffer) > limits.max_header_bytes:
        raise WireError(f"header of {len(buffer)} bytes exceeds {limits.max_header_bytes}")
    try:
        header = msgpack.unpackb(buffer, raw=False, strict_map_key=True, use_list=True,
                                 max_str_len=limits.max_header_bytes, max_bin_len=limits.max_header_bytes,
                                 max_array_len=1024, max_map_len=1024, max_ext_len=0)
    except Exception as exc:  # noqa: BLE001 - msgpack raises many types on hostile input
        raise WireError(f"header is not valid msgpack: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise WireError(f"header must be a map, got {type(header).__name__}")
    try:
        _check(header, limits)
    except WireError:
        raise
    except (TypeError, KeyError, ValueError, OverflowError) as exc:
        # e.g. a list where a name belongs (unhashable): still just a malformed message
        raise WireError(f"malformed header: {type(exc).__name__}: {exc}") from None
    return header


def _check(header: dict[str, Any], limits: Limits) -> None:
    version = header.get("v")
    if version != PROTOCOL_VERSION:
        raise WireError(f"unsupported protocol version {version!r} (expected {PROTOCOL_VERSION})")
    kind = header.get("kind")
    if not isinstance(kind, str) or kind not in MESSAGE_KINDS:
        raise WireError(f"unknown message kind {kind!r}")
    _bin(header, "session", SESSION_BYTES)
    stream = header.get("stream")
    if not isinstance(stream, str) or not 0 < len(stream) <= limits.max_stream_chars:
        raise WireError(f"field 'stream' must be a non-empty string, got {stream!r:.60}")
    CHECKS[kind](header, limits)


def _uint(header: dict, field: str, maximum: int = INT64_MAX) -> int:
    value = header.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise WireError(f"field {field!r} must be an int in [0, {maximum}], got {value!r:.60}")
    return value


def _bin(header: dict, field: str, size: int) -> bytes:
    value = header.get(field)
    if not isinstance(value, bytes) or len(value) != size:
        raise WireError(f"field {field!r} must be {size} bytes (msgpack bin), got {value!r:.60}")
    return value


def _int(header: dict, field: str) -> int:
    value = header.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or not -INT64_MAX <= value <= INT64_MAX:
        raise WireError(f"field {field!r} must be an int64, got {value!r:.60}")
    return value


def _one_of(header: dict, field: str, allowed) -> str:
    value = header.get(field)
    if not isinstance(value, str) or value not in allowed:
        raise WireError(f"field {field!r} must be one of {sorted(allowed)}, got {value!r:.60}")
    return value


def _check_data(header: dict, limits: Limits) -> None:
    _bin(header, "receiver_session", SESSION_BYTES)
    for field in ("link_seq", "seq"):
        _uint(header, field)
    for field in ("capture_ts_ns", "sender_ts_ns"):
        _int(header, field)
    shape = header.get("shape")
    if (not isinstance(shape, list) or len(shape) not in (2, 3)
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape)):
        raise WireError(f"field 'shape' must be [height, width] or [height, width, channels], got {shape!r:.60}")
    if not all(1 <= s <= limits.max_side for s in shape[:2]):
        raise WireError(f"shape {shape} exceeds the size limit 1..{limits.max_side}")
    if len(shape) == 3 and shape[2] not in (1, 3, 4):
        raise WireError(f"channels must be 1, 3 or 4, got {shape[2]}")
    _one_of(header, "dtype", DTYPES)
    _one_of(header, "pixel_format", PIXEL_FORMATS)
    _one_of(header, "codec", CODECS)
    meta = header.get("meta", {})
    if not isinstance(meta, dict) or len(meta) > limits.max_meta_items:
        raise WireError(f"field 'meta' must be a map of at most {limits.max_meta_items} items")
    if CLOCK_OFFSET_META in meta:
        offset = _int(meta, CLOCK_OFFSET_META)
        if abs(offset) > MAX_CLOCK_OFFSET_NS:
            raise WireError(f"meta.clock_offset_ns {offset} is beyond +-{MAX_CLOCK_OFFSET_NS}")
    offer = header.get("shm_offer")
    if offer is not None and (not isinstance(offer, str) or len(offer) > 64):
        raise WireError(f"field 'shm_offer' must be a segment name of at most 64 characters, "
                        f"got {offer!r:.60}")


#: at most this many link_seqs in a credit's ``held`` list (a ring has at most 64 slots)
MAX_HELD = 64


def _check_credit(header: dict, limits: Limits) -> None:
    _bin(header, "sender_session", SESSION_BYTES)
    _uint(header, "allowed")
    _uint(header, "received")
    _uint(header, "acked")
    held = header.get("held")
    if (not isinstance(held, list) or len(held) > MAX_HELD
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < header["received"]
                       for v in held)):
        raise WireError(f"field 'held' must be a list of at most {MAX_HELD} link_seqs below 'received', "
                        f"got {held!r:.60}")
    window = header.get("window")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= MAX_WINDOW:
        raise WireError(f"field 'window' must be an int in [1, {MAX_WINDOW}], got {window!r:.60}")
    if "shm" in header and not isinstance(header["shm"], bool):
        raise WireError(f"field 'shm' must be true or false, got {header['shm']!r:.60}")


def _check_hello(header: dict, limits: Limits) -> None:
    _one_of(header, "role", ROLES)
    if header["role"] == "sender":
        _uint(header, "link_seq")
        _one_of(header, "policy", POLICIES)


def _check_ping(header: dict, limits: Limits) -> None:
    _int(header, "t1")
    _bin(header, "cookie", COOKIE_BYTES)


def _check_pong(header: dict, limits: Limits) -> None:
    for field in ("t1", "t2", "t3"):
        _int(header, field)
    _bin(header, "cookie", COOKIE_BYTES)


def _check_end(header: dict, limits: Limits) -> None:
    _uint(header, "link_seq")


def _check_end_ack(header: dict, limits: Limits) -> None:
    _bin(header, "sender_session", SESSION_BYTES)


CHECKS = {DATA: _check_data, CREDIT: _check_credit, HELLO: _check_hello, PING: _check_ping,
          PONG: _check_pong, END: _check_end, END_ACK: _check_end_ack}


def expected_payload_bytes(header: dict) -> int:
    """Bytes of a raw payload with this header's shape and dtype."""
    count = 1
    for side in header["shape"]:
        count *= side
    return count * DTYPES[header["dtype"]]
