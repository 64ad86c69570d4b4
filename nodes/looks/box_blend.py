"""Alpha blending inside the person's bounding box only: outside it the alpha is 0 and the result is the
bottom layer, so it is copied (one memcpy) instead of multiplied.

Not for: the blend arithmetic itself, which is blend.py's alpha_blend (same formula, same rounding); this
only decides where it runs and keeps its buffers frame-sized (views of them per box, so a box that changes
from frame to frame never allocates). A head-and-shoulders box is about 60% of a webcam frame.
"""
from __future__ import annotations

import cv2
import numpy as np

from .scratch import Scratch

_INV255 = 1.0 / 255.0


def copy_outside(out: np.ndarray, source: np.ndarray, box: tuple[int, int, int, int] | None) -> None:
    """``source`` into ``out`` everywhere but ``box`` (which the caller writes): memory, not arithmetic, is
    what a frame-size pass costs here, so the box is not written twice."""
    if box is None:
        np.copyto(out, source)
        return
    y0, y1, x0, x1 = box
    out[:y0] = source[:y0]
    out[y1:] = source[y1:]
    out[y0:y1, :x0] = source[y0:y1, :x0]
    out[y0:y1, x1:] = source[y0:y1, x1:]


def alpha_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the alpha's non-zero pixels, None when there are none."""
    x, y, w, h = cv2.boundingRect(alpha)
    return None if w == 0 or h == 0 else (y, y + h, x, x + w)


def blend_in_box(top: np.ndarray, bottom: np.ndarray, alpha: np.ndarray, out: np.ndarray, scratch: Scratch, *,
                 top_weight: np.ndarray | None = None, box: tuple[int, int, int, int] | None = None,
                 name: str = "box") -> np.ndarray:
    """``out`` = top * w + bottom * (1 - a) for uint8 layers (BGR or grey), uint8 HxW ``alpha``; w = ``top_weight``
    when given (a poster's vignette folded into the person's share), else alpha. ``box``: alpha_box(alpha)
    when the caller has it; ``name``: its buffers' names in ``scratch``. Returns ``out`` (which may not be
    ``top``)."""
    if box is None:
        box = alpha_box(alpha)
    copy_outside(out, bottom, box)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    h, w = y1 - y0, x1 - x0
    weight = (alpha if top_weight is None else top_weight)[y0:y1, x0:x1]
    inverse = alpha[y0:y1, x0:x1]
    spread = scratch.get(f"{name}.weights", top.shape)[:h, :w]   # the weights as the layers' channels
    if top.ndim == 3:
        weight = cv2.merge((weight, weight, weight), dst=spread)
    kept = cv2.multiply(top[y0:y1, x0:x1], weight, scale=_INV255, dst=scratch.get(f"{name}.kept", top.shape)[:h, :w])
    inverse = cv2.merge((inverse, inverse, inverse), dst=spread) if top.ndim == 3 else inverse
    inverse = cv2.bitwise_not(inverse, dst=spread)
    window = out[y0:y1, x0:x1]
    cv2.multiply(bottom[y0:y1, x0:x1], inverse, scale=_INV255, dst=window)
    cv2.add(kept, window, dst=window)
    return out


def mix_in_box(layers: list[tuple[np.ndarray, np.ndarray]], outside: np.ndarray, out: np.ndarray,
               box: tuple[int, int, int, int] | None, scratch: Scratch, name: str = "mix") -> np.ndarray:
    """``out`` = sum of layer * weight / 255 inside ``box`` (uint8 BGR layers, uint8 HxW weights that sum to
    at most 255 per pixel), ``outside`` elsewhere. Two blends in a row (the person's edge, then the person
    onto the background) are one mix of three layers: one 3-channel multiply fewer, and no intermediate."""
    copy_outside(out, outside, box)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    h, w = y1 - y0, x1 - x0
    window = out[y0:y1, x0:x1]
    spread = scratch.get(f"{name}.weights", out.shape)[:h, :w]
    part = scratch.get(f"{name}.part", out.shape)[:h, :w]
    for index, (layer, weight) in enumerate(layers):
        weight = weight[y0:y1, x0:x1]
        weight3 = cv2.merge((weight, weight, weight), dst=spread)
        cv2.multiply(layer[y0:y1, x0:x1], weight3, scale=_INV255, dst=window if index == 0 else part)
        if index:
            cv2.add(window, part, dst=window)
    return out
