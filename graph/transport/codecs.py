"""Payload codecs of a link, one class per codec behind the interface of payload.py, in two registries.

Not for: headers or sockets (wire.py, endpoint.py); H.264 lives in h264.py. ENCODERS and DECODERS map a
codec name to its classes; make_encoder and PayloadDecoder are the only ways the links use them.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .h264 import H264Decoder, H264Encoder
from .payload import Buffer, Decoder, Encoder, describe
from .wire import DTYPES, WireError, expected_payload_bytes


class RawEncoder(Encoder):
    """The array's own bytes, sent zero-copy (the packet is immutable, so ZeroMQ may read it later)."""

    name = "raw"

    def encode(self, array: np.ndarray, link_seq: int = 0) -> tuple[dict[str, Any], Buffer]:
        fields = describe(array)
        return {**fields, "codec": self.name}, np.ascontiguousarray(array)



class JpegEncoder(Encoder):
    """Frames as JPEG (cv2.imencode); for Wi-Fi links where raw pixels do not fit."""

    name = "jpeg"

    def __init__(self, quality: int = 85):
        self.params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]

    def encode(self, array: np.ndarray, link_seq: int = 0) -> tuple[dict[str, Any], Buffer]:
        fields = describe(array)
        if fields["pixel_format"] != "bgr24":
            raise ValueError(f"jpeg carries BGR frames only, got {fields['pixel_format']} {array.shape}")
        ok, encoded = cv2.imencode(".jpg", array, self.params)
        if not ok:
            raise ValueError(f"cv2.imencode failed for a {array.shape} frame")
        return {**fields, "codec": self.name}, encoded



class Mask8Encoder(Encoder):
    """Masks quantised to uint8 (round(mask * 255)): a quarter of the bytes, 1/255 precision."""

    name = "mask8"

    def encode(self, array: np.ndarray, link_seq: int = 0) -> tuple[dict[str, Any], Buffer]:
        fields = describe(array)
        if fields["pixel_format"] != "mask":
            raise ValueError(f"mask8 carries float32 masks only, got {array.dtype} {array.shape}")
        quantised = np.empty(array.shape, np.uint8)
        # scale in float32, then round-and-saturate in one OpenCV pass (no float64 temporaries)
        cv2.convertScaleAbs(array, quantised, alpha=255.0)
        return {"shape": fields["shape"], "dtype": "uint8", "pixel_format": "mask", "codec": self.name}, quantised



class ShmEncoder(Encoder):
    """Same host only: pixels copied into the sender's shared-memory ring (shm_ring.py); the
    ZeroMQ message carries the header (segment name, slot, offset) and an empty payload.

    Until the receiver has said it can map the ring (``answer``), frames go as raw payloads that
    offer the segment's name, so nothing is lost where the two ends do not share /dev/shm (another
    container, say). Frames also go raw while the receiver holds every slot, or when shared memory has
    no room for the ring (``counts``)."""

    name = "shm"

    def __init__(self, slots: int = 8):
        from .shm_ring import remove_stale_segments
        self.slots = slots
        self.ring = None
        self.accepted: bool | None = None      # the receiver's answer to the offer (None: not yet)
        self._raw = RawEncoder()
        remove_stale_segments()     # at start-up: segments of senders killed before they could unlink

    def encode(self, array: np.ndarray, link_seq: int) -> tuple[dict[str, Any], Buffer]:
        """The ring slot is keyed by link_seq, so the receiver's credits decide when it is reused."""
        if self.accepted is False:
            return self._raw.encode(array)
        if self.ring is None:
            from .shm_ring import ShmRing
            self.ring = ShmRing(self.slots)
        if self.accepted is None:
            name = self.ring.segment_name_for(array.nbytes)
            raw_fields, buffer = self._raw.encode(array)
            return ({**raw_fields, "shm_offer": name} if name else raw_fields), buffer
        fields = describe(array)                # checks the array before it is copied anywhere
        slot_fields = self.ring.write(np.ascontiguousarray(array), link_seq)
        if slot_fields is None:
            return self._raw.encode(array)
        return {**fields, "codec": self.name, **slot_fields}, b""

    def answer(self, accepted: bool) -> None:
        """The receiver's answer to the offered segment (credit field ``shm``); the first one counts."""
        if self.accepted is not None:
            return
        if accepted is False and self.ring is not None:
            self.ring.close()                   # it will never be read: give the memory back
            self.ring = None
        self.accepted = accepted

    @property
    def counts(self) -> dict[str, int]:
        """Frames sent raw because every slot was held (ring_full) or shared memory was full (no_room);
        refused: 1 when the receiver cannot map the ring."""
        ring = self.ring
        counts = {"ring_full": ring.full, "no_room": ring.no_room} if ring is not None else {}
        if self.accepted is False:
            counts["refused"] = 1
        return counts

    def release(self, received: int, held: list[int]) -> None:
        """From a credit message: the receiver's ``received`` and ``held`` link_seqs (shm_ring.py)."""
        if self.ring is not None:
            self.ring.release(received, held)

    def new_receiver(self) -> None:
        """A new receiver session: it holds none of the slots, and has yet to answer the offer."""
        if self.ring is not None:
            self.ring.release_all()
        self.accepted = None

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()


ENCODERS: dict[str, type[Encoder]] = {"raw": RawEncoder, "jpeg": JpegEncoder, "mask8": Mask8Encoder,
                                      "h264": H264Encoder, "shm": ShmEncoder}


def make_encoder(codec: str, *, jpeg_quality: int = 85, h264_crf: int = 23, fps: float = 30.0,
                 shm_slots: int = 8) -> Encoder:
    settings = {"jpeg": {"quality": jpeg_quality}, "h264": {"crf": h264_crf, "fps": fps},
                "shm": {"slots": shm_slots}}
    if codec not in ENCODERS:
        raise ValueError(f"unknown codec {codec!r} (expected one of {', '.join(ENCODERS)})")
    return ENCODERS[codec](**settings.get(codec, {}))


class RawDecoder(Decoder):
    def decode(self, header: dict[str, Any], buffer: Buffer, size: int) -> np.ndarray:
        expected = expected_payload_bytes(header)
        if size != expected:
            raise WireError(f"raw payload has {size} bytes, shape {header['shape']} {header['dtype']} "
                            f"needs {expected}")
        return np.frombuffer(buffer, np.dtype(header["dtype"])).reshape(header["shape"])


class Mask8Decoder(Decoder):
    def decode(self, header: dict[str, Any], buffer: Buffer, size: int) -> np.ndarray:
        if header["dtype"] != "uint8" or len(header["shape"]) != 2 or header["pixel_format"] != "mask":
            raise WireError("mask8 needs dtype uint8, shape [height, width], pixel_format mask")
        expected = expected_payload_bytes(header)
        if size != expected:
            raise WireError(f"mask8 payload has {size} bytes, shape {header['shape']} needs {expected}")
        quantised = np.frombuffer(buffer, np.uint8).reshape(header["shape"])
        mask = quantised.astype(np.float32)
        mask *= np.float32(1.0 / 255.0)
        return mask


class JpegDecoder(Decoder):
    def decode(self, header: dict[str, Any], buffer: Buffer, size: int) -> np.ndarray:
        if header["pixel_format"] != "bgr24" or header["dtype"] != "uint8":
            raise WireError("jpeg needs pixel_format bgr24 and dtype uint8")
        height, width = header["shape"][:2]
        # compressed bytes cannot exceed a generous multiple of the raw size; the declared size
        # is checked against the JPEG's own before decoding, so nothing larger is allocated
        if size > 2 * expected_payload_bytes(header) + 4096:
            raise WireError(f"jpeg payload of {size} bytes is too large for {header['shape']}")
        encoded = np.frombuffer(buffer, np.uint8)
        declared = jpeg_size(encoded)
        if declared != (height, width):
            raise WireError(f"jpeg is {declared}, header says {(height, width)}")
        image = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
        if image is None or image.shape != tuple(header["shape"]):
            raise WireError(f"jpeg did not decode to {header['shape']}")
        return image


class ShmDecoder(Decoder):
    """Reads the sender's ring through descriptors (shm_ring.ShmReader); same host only."""

    def __init__(self, max_payload_bytes: int):
        from .shm_ring import ShmReader
        self.max_payload_bytes = max_payload_bytes
        self.reader = ShmReader(max_payload_bytes)

    def decode(self, header: dict[str, Any], buffer: Buffer, size: int) -> np.ndarray:
        if size != 0:
            raise WireError(f"shm message carries {size} payload bytes, expected none")
        expected = expected_payload_bytes(header)
        if expected > self.max_payload_bytes:
            raise WireError(f"shm frame of {expected} bytes exceeds {self.max_payload_bytes}")
        return self.reader.read(header, expected)

    def close(self) -> None:
        self.reader.close()       # descriptors only: the sender owns (and unlinks) its segments


DECODERS: dict[str, type[Decoder]] = {"raw": RawDecoder, "jpeg": JpegDecoder, "mask8": Mask8Decoder,
                                      "h264": H264Decoder, "shm": ShmDecoder}


class PayloadDecoder:
    """Decodes every codec for one sending session (H.264 keeps its decoder state per session)."""

    def __init__(self, allow_shm: bool = True, max_payload_bytes: int = 64 << 20):
        self._decoders: dict[str, Decoder] = {}
        self.allow_shm = allow_shm          # False on a receiver reachable from other hosts
        self.max_payload_bytes = max_payload_bytes

    def _decoder(self, codec: str) -> Decoder:
        decoder = self._decoders.get(codec)
        if decoder is None:
            cls = DECODERS[codec]
            decoder = cls(self.max_payload_bytes) if cls is ShmDecoder else cls()
            self._decoders[codec] = decoder
        return decoder

    def can_map_shm(self, header: dict[str, Any]) -> bool:
        """Whether the segment a raw message offers (``shm_offer``) can be read here."""
        if not self.allow_shm:
            return False
        return self._decoder("shm").reader.can_map(header.get("shm_offer"))

    def decode(self, header: dict[str, Any], buffer: Buffer) -> np.ndarray:
        """The array of one data message."""
        codec = header["codec"]
        if codec == "shm" and not self.allow_shm:
            raise WireError("shm payloads are accepted only on ipc:// or loopback links")
        size = len(buffer) if not isinstance(buffer, memoryview) else buffer.nbytes
        return _checked(self._decoder(codec).decode(header, buffer, size), header)

    def close(self) -> None:
        for decoder in self._decoders.values():
            decoder.close()
        self._decoders.clear()


def _checked(array: np.ndarray, header: dict[str, Any]) -> np.ndarray:
    """The decoded array has the header's shape, and its dtype (mask8 decodes to float32)."""
    dtype = np.float32 if header["codec"] == "mask8" else np.dtype(header["dtype"])
    if list(array.shape) != header["shape"] or array.dtype != dtype:
        raise WireError(f"payload decoded to {array.dtype} {array.shape}, header says "
                        f"{header['dtype']} {header['shape']}")
    return array


def jpeg_size(data: np.ndarray) -> tuple[int, int] | None:
    """(height, width) from a JPEG's SOF marker, or None: read before decoding to bound allocation."""
    raw = data.tobytes() if data.size < 4096 else bytes(data[:65536])
    if raw[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(raw):
        if raw[i] != 0xFF:
            return None
        marker = raw[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        length = int.from_bytes(raw[i + 2:i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(raw[i + 5:i + 7], "big"), int.from_bytes(raw[i + 7:i + 9], "big")
        if length < 2:
            return None
        i += 2 + length
    return None


__all__ = ["DECODERS", "DTYPES", "ENCODERS", "Encoder", "JpegEncoder", "Mask8Encoder", "PayloadDecoder",
           "RawEncoder", "ShmEncoder", "describe", "jpeg_size", "make_encoder"]
