"""Payload codecs of a link: raw (zero-copy), JPEG, H.264 (PyAV, low latency) and 8-bit masks.

Not for: headers or sockets (wire.py, link.py). An encoder turns one array into header fields and one
buffer; a decoder checks the buffer against the (already checked) header before allocating anything.
"""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .wire import DTYPES, WireError, expected_payload_bytes

Buffer = Any   # bytes, memoryview or a numpy array exposing the buffer protocol


def describe(array: np.ndarray) -> dict[str, Any]:
    """Shape, dtype and pixel format of a frame or mask array (what the receiver must rebuild)."""
    if array.dtype == np.float32 and array.ndim == 2:
        pixel_format = "mask"
    elif array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] in (3, 4):
        pixel_format = "bgr24" if array.shape[2] == 3 else "bgra"
    else:
        raise ValueError(f"a link carries frames (uint8 HxWx3/4) or masks (float32 HxW), "
                         f"got {array.dtype} {array.shape}")
    return {"shape": list(array.shape), "dtype": str(array.dtype), "pixel_format": pixel_format}


class RawEncoder:
    """The array's own bytes, sent zero-copy (the packet is immutable, so ZeroMQ may read it later)."""

    name = "raw"

    def encode(self, array: np.ndarray) -> tuple[dict[str, Any], Buffer]:
        fields = describe(array)
        return {**fields, "codec": self.name}, np.ascontiguousarray(array)

    def close(self) -> None:
        pass


class JpegEncoder:
    """Frames as JPEG (cv2.imencode); for Wi-Fi links where raw pixels do not fit."""

    name = "jpeg"

    def __init__(self, quality: int = 85):
        self.params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]

    def encode(self, array: np.ndarray) -> tuple[dict[str, Any], Buffer]:
        fields = describe(array)
        if fields["pixel_format"] != "bgr24":
            raise ValueError(f"jpeg carries BGR frames only, got {fields['pixel_format']} {array.shape}")
        ok, encoded = cv2.imencode(".jpg", array, self.params)
        if not ok:
            raise ValueError(f"cv2.imencode failed for a {array.shape} frame")
        return {**fields, "codec": self.name}, encoded

    def close(self) -> None:
        pass


class Mask8Encoder:
    """Masks quantised to uint8 (round(mask * 255)): a quarter of the bytes, 1/255 precision."""

    name = "mask8"

    def encode(self, array: np.ndarray) -> tuple[dict[str, Any], Buffer]:
        fields = describe(array)
        if fields["pixel_format"] != "mask":
            raise ValueError(f"mask8 carries float32 masks only, got {array.dtype} {array.shape}")
        quantised = np.empty(array.shape, np.uint8)
        # scale in float32, then round-and-saturate in one OpenCV pass (no float64 temporaries)
        cv2.convertScaleAbs(array, quantised, alpha=255.0)
        return {"shape": fields["shape"], "dtype": "uint8", "pixel_format": "mask", "codec": self.name}, quantised

    def close(self) -> None:
        pass


class ShmEncoder:
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

    def encode(self, array: np.ndarray) -> tuple[dict[str, Any], Buffer]:
        raise TypeError("the shm codec needs the link_seq of the message: call encode_at")

    def encode_at(self, array: np.ndarray, link_seq: int, session: int) -> tuple[dict[str, Any], Buffer]:
        if self.accepted is False:
            return self._raw.encode(array)
        if self.ring is None:
            from .shm_ring import ShmRing
            self.ring = ShmRing(session, self.slots)
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
        """The receiver's answer to the offered segment (credit field ``shm``)."""
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

    def release_all(self) -> None:
        """A new receiver session: it holds none of the slots, and has yet to answer the offer."""
        if self.ring is not None:
            self.ring.release_all()
        self.accepted = None

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()


def make_encoder(codec: str, *, jpeg_quality: int = 85, h264_crf: int = 23, fps: float = 30.0,
                 shm_slots: int = 8):
    if codec == "raw":
        return RawEncoder()
    if codec == "jpeg":
        return JpegEncoder(jpeg_quality)
    if codec == "mask8":
        return Mask8Encoder()
    if codec == "h264":
        from .h264 import H264Encoder
        return H264Encoder(crf=h264_crf, fps=fps)
    if codec == "shm":
        return ShmEncoder(shm_slots)
    raise ValueError(f"unknown codec {codec!r} (expected raw, jpeg, h264, mask8 or shm)")


class PayloadDecoder:
    """Decodes every codec for one sending peer (H.264 keeps its decoder state per peer session)."""

    def __init__(self, allow_shm: bool = True, max_payload_bytes: int = 64 << 20):
        self._h264 = None
        self._shm = None
        self.allow_shm = allow_shm          # False on a receiver reachable from other hosts
        self.max_payload_bytes = max_payload_bytes

    def can_map_shm(self, header: dict[str, Any]) -> bool:
        """Whether the segment a raw message offers (``shm_offer``) can be read here."""
        if not self.allow_shm:
            return False
        if self._shm is None:
            from .shm_ring import ShmReader
            self._shm = ShmReader(self.max_payload_bytes)
        return self._shm.can_map(header.get("shm_offer"), header["session"])

    def decode(self, header: dict[str, Any], buffer: Buffer, lease=None) -> np.ndarray:
        """The array of one data message. ``lease`` (shm only, see ShmReader.read) lets a shm frame
        be a read-only view of the sender's slot instead of a copy."""
        codec = header["codec"]
        size = len(buffer) if not isinstance(buffer, memoryview) else buffer.nbytes
        if codec == "raw":
            expected = expected_payload_bytes(header)
            if size != expected:
                raise WireError(f"raw payload has {size} bytes, shape {header['shape']} {header['dtype']} "
                                f"needs {expected}")
            return _checked(np.frombuffer(buffer, np.dtype(header["dtype"])).reshape(header["shape"]), header)
        if codec == "mask8":
            if header["dtype"] != "uint8" or len(header["shape"]) != 2 or header["pixel_format"] != "mask":
                raise WireError("mask8 needs dtype uint8, shape [height, width], pixel_format mask")
            expected = expected_payload_bytes(header)
            if size != expected:
                raise WireError(f"mask8 payload has {size} bytes, shape {header['shape']} needs {expected}")
            quantised = np.frombuffer(buffer, np.uint8).reshape(header["shape"])
            mask = quantised.astype(np.float32)
            mask *= np.float32(1.0 / 255.0)
            return mask
        if codec == "jpeg":
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
        if codec == "shm":
            if not self.allow_shm:
                raise WireError("shm payloads are accepted only on ipc:// or loopback links")
            if size != 0:
                raise WireError(f"shm message carries {size} payload bytes, expected none")
            expected = expected_payload_bytes(header)
            if expected > self.max_payload_bytes:
                raise WireError(f"shm frame of {expected} bytes exceeds {self.max_payload_bytes}")
            if self._shm is None:
                from .shm_ring import ShmReader
                self._shm = ShmReader(self.max_payload_bytes)
            return self._shm.read(header, expected, lease)
        if codec == "h264":
            if self._h264 is None:
                from .h264 import H264Decoder
                self._h264 = H264Decoder()
            return _checked(self._h264.decode(header, buffer), header)
        raise WireError(f"unknown codec {codec!r}")

    def close(self) -> None:
        if self._h264 is not None:
            self._h264.close()
        if self._shm is not None:
            self._shm.close()       # mappings only: the sender owns (and unlinks) its segments


def _checked(array: np.ndarray, header: dict[str, Any]) -> np.ndarray:
    if list(array.shape) != header["shape"] or array.dtype != np.dtype(header["dtype"]):
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


__all__ = ["DTYPES", "JpegEncoder", "Mask8Encoder", "PayloadDecoder", "RawEncoder", "ShmEncoder", "describe", "jpeg_size",
           "make_encoder"]
