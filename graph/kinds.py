"""Payload kinds that ports declare, and the one channel order used across the whole graph.

A frame is a numpy uint8 array, either HxWx3 in **BGR** order (OpenCV's and PyAV's ``bgr24``) or
HxWx4 **BGRA** with *straight* (not premultiplied) alpha, person = 255, background = 0: the colour of a
pixel is its own colour whatever its alpha (a cut-out's soft edge keeps the person's colour, a sink
that drops alpha shows exactly that colour). Nodes that make alpha say so on their output port
(the cutout look; any look with background = "transparent"); every node that takes a frame accepts
both. Masks are numpy float32 HxW in [0, 1], person = 1; a mask's resolution (model or frame) is
documented per port. Not for: converting between kinds.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class Kind:
    """A payload kind. ``check`` returns None when the payload fits, else a reason string."""

    name: ClassVar[str] = "any"

    @classmethod
    def check(cls, payload: Any) -> str | None:
        return None

    @classmethod
    def connects_to(cls, other: type[Kind]) -> bool:
        """Whether an output of this kind may feed an input of kind ``other``."""
        return other is AnyKind or cls is AnyKind or cls is other


class AnyKind(Kind):
    """Anything: for generic nodes (null sink, tracing taps)."""

    name = "any"


class Frame(Kind):
    """uint8 HxWx3 BGR, or HxWx4 BGRA with straight alpha (person = 255) where the producing node says so."""

    name = "frame"

    @classmethod
    def check(cls, payload: Any) -> str | None:
        if not isinstance(payload, np.ndarray):
            return f"expected numpy.ndarray, got {type(payload).__name__}"
        if payload.dtype != np.uint8 or payload.ndim != 3 or payload.shape[2] not in (3, 4):
            return f"expected uint8 HxWx3 or HxWx4, got {payload.dtype} {payload.shape}"
        return None


class Mask(Kind):
    """float32 HxW in [0, 1], person = 1."""

    name = "mask"

    @classmethod
    def check(cls, payload: Any) -> str | None:
        if not isinstance(payload, np.ndarray):
            return f"expected numpy.ndarray, got {type(payload).__name__}"
        if payload.dtype != np.float32 or payload.ndim != 2:
            return f"expected float32 HxW, got {payload.dtype} {payload.shape}"
        return None


KINDS: dict[str, type[Kind]] = {k.name: k for k in (AnyKind, Frame, Mask)}
