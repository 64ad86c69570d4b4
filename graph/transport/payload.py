"""What a link codec is: the encoder and decoder interfaces every codec implements, and describe().

Not for: any particular codec (codecs.py holds the registry and the small ones; h264.py, shm codec in
codecs.py) or headers (wire.py). An encoder turns one array into header fields and one buffer; a
decoder checks the buffer against the (already checked) header before allocating anything.
"""
from __future__ import annotations

from typing import Any

import numpy as np

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


class Encoder:
    """The sending side of one codec. Only ``encode`` is required; the rest are events of the link
    that stateful codecs (H.264's reference frames, shm's ring) care about."""

    name = "?"

    def encode(self, array: np.ndarray, link_seq: int) -> tuple[dict[str, Any], Buffer]:
        """Header fields (shape, dtype, pixel_format, codec, ...) and the payload of message ``link_seq``."""
        raise NotImplementedError

    def new_receiver(self) -> None:
        """A new receiver session: it has no decoder state and holds nothing of ours."""

    def discarded(self) -> None:
        """The last encoded message was replaced before it went out: the receiver never saw it."""

    def release(self, received: int, held: list[int]) -> None:
        """From a credit: every link_seq below ``received`` arrived (or is lost); ``held`` are still in use."""

    def answer(self, accepted: bool) -> None:
        """From a credit: the receiver's answer to a shm offer."""

    @property
    def counts(self) -> dict[str, int]:
        """Codec events worth a counter (``link_shm_<name>``)."""
        return {}

    def close(self) -> None:
        """Give back what the encoder holds (shared memory, codec contexts)."""


class Decoder:
    """The receiving side of one codec, for one sender session."""

    def decode(self, header: dict[str, Any], buffer: Buffer, size: int) -> np.ndarray:
        """The array of a checked header and its payload of ``size`` bytes; WireError when they disagree."""
        raise NotImplementedError

    def close(self) -> None:
        """Give back what the decoder holds."""
