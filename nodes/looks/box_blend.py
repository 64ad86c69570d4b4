"""Alpha blending inside the person's bounding box only: outside it the alpha is 0 and the result is the
bottom layer, so it is copied (one memcpy) instead of multiplied.

Not for: the blend arithmetic itself, which is blend.py's alpha_blend (same formula, same rounding); this
only decides where it runs and keeps its buffers small. A head-and-shoulders box is about 60% of a webcam
frame. The blends run strip by strip (STRIP_ROWS rows at a time): every intermediate of a strip (the
weights spread to three channels, the multiplied layers) stays in the core's cache between the calls that
make and use it, instead of a box-sized 3-channel buffer going out to memory and back for each call (a
three-layer mix at 720p: 2.9 -> 2.4 ms in the chain, bench/hotspots.py; same pixels).
"""
from __future__ import annotations

import cv2
import numpy as np

from ..frame_passes import compiled
from .blend import mask_to_alpha
from .reduced import cells_span, cells_under, grow, grow_cells
from .scratch import Scratch

_INV255 = 1.0 / 255.0
#: rows per strip: 32 rows of a 1280-wide BGR box are 120 KB per buffer, a few of them fit a 1 MB L2 cache;
#: fewer rows mean more calls (16: slower again), more rows more misses
STRIP_ROWS = 32


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


def alpha_and_box(mask: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """blend.mask_to_alpha(mask) and its alpha_box: with the compiled passes in one pass over the mask (the
    same alpha, the same box), else the two OpenCV calls."""
    if compiled is None:
        alpha = mask_to_alpha(mask)
        return alpha, alpha_box(alpha)
    alpha = np.empty(mask.shape, np.uint8)
    box, _ = compiled.alpha_from_mask(np.ascontiguousarray(mask, dtype=np.float32), alpha)
    return alpha, box


def alpha_box(alpha: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the alpha's non-zero pixels, None when there are none."""
    x, y, w, h = cv2.boundingRect(alpha)
    return None if w == 0 or h == 0 else (y, y + h, x, x + w)


def grow_box(small: np.ndarray, height: int, width: int, box: tuple[int, int, int, int],
             buffer: np.ndarray) -> np.ndarray:
    """``grow(small, height, width)[top:bottom, left:right]`` for ``box`` = (top, bottom, left, right), made for
    the box's cells only (reduced.grow_cells, into the frame-sized ``buffer``): the same pixels, without
    bringing the whole frame up to use a box of it."""
    top, bottom, left, right = box
    (grown_top, grown_bottom, grown_left, grown_right), view = grow_cells(
        small, height, width, cells_under(small.shape, height, width, box), buffer)
    if grown_top > top or grown_bottom < bottom or grown_left > left or grown_right < right:
        return grow(small, height, width)[top:bottom, left:right]   # not expected: grow_cells widens
    return view[top - grown_top:bottom - grown_top, left - grown_left:right - grown_left]


def cells_to_grow(small: np.ndarray, height: int, width: int,
                  cells: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """What reduced.grow_cells would bring up, left small: (the cells of ``small``, one cell of margin, widened
    to whole periods of the grids, as a view; the full-size box (top, bottom, left, right) they come up to).
    A compiled pass grows them row by row as cv2.resize does (plates_pass.c's grown_span, the same pixels),
    so the grown layer never exists at full size."""
    (y0, y1, x0, x1), grown = cells_span(small.shape, height, width, cells)
    return small[y0:y1, x0:x1], grown


def box_cells(small: np.ndarray, height: int, width: int,
              box: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """cells_to_grow for the cells under ``box`` (top, bottom, left, right at full size), as grow_box takes them:
    the full-size box returned holds ``box``."""
    return cells_to_grow(small, height, width, cells_under(small.shape, height, width, box))


def blend_in_box(top: np.ndarray, bottom: np.ndarray, alpha: np.ndarray, out: np.ndarray, scratch: Scratch, *,
                 top_weight: np.ndarray | None = None, box: tuple[int, int, int, int] | None = None,
                 name: str = "box") -> np.ndarray:
    """``out`` = top * w + bottom * (1 - a) for uint8 layers (BGR or grey), uint8 HxW ``alpha``; w = ``top_weight``
    when given (a poster's vignette folded into the person's share), else alpha. ``box``: alpha_box(alpha)
    when the caller has it; ``name``: its buffers' names in ``scratch``. Returns ``out`` (which may not be
    ``top``)."""
    if box is None:
        box = alpha_box(alpha)
    # the bottom layer everywhere first: each strip is then blended only across the columns where the top
    # has a share or the bottom has not all of it (a box's upper strips are mostly the corners beside the head)
    np.copyto(out, bottom)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    weight = alpha if top_weight is None else top_weight
    # per strip: the weight spread to the layers' channels, the kept top, the inverse weight; strip buffers
    # as wide as the frame (a box that changes never reallocates them)
    channels = top.shape[2:]
    spread = scratch.get(f"{name}.weights", (STRIP_ROWS, out.shape[1]) + channels)
    kept = scratch.get(f"{name}.kept", (STRIP_ROWS, out.shape[1]) + channels)
    for start in range(y0, y1, STRIP_ROWS):
        stop = min(y1, start + STRIP_ROWS)
        rows = stop - start
        left, right = _extent(alpha[start:stop, x0:x1])
        if top_weight is not None:
            extra = _extent(top_weight[start:stop, x0:x1])
            left, right = min(left, extra[0]), max(right, extra[1])
        if right <= left:
            continue
        columns = slice(x0 + left, x0 + right)
        width = right - left
        window = out[start:stop, columns]
        if compiled is not None:   # the same pixels in one pass over the strip
            compiled.blend(top[start:stop, columns], weight[start:stop, columns], bottom[start:stop, columns],
                           alpha[start:stop, columns], window)
            continue
        on_top = _spread(weight[start:stop, columns], spread[:rows, :width])
        cv2.multiply(top[start:stop, columns], on_top, scale=_INV255, dst=kept[:rows, :width])
        below = cv2.bitwise_not(_spread(alpha[start:stop, columns], spread[:rows, :width]), dst=spread[:rows, :width])
        cv2.multiply(bottom[start:stop, columns], below, scale=_INV255, dst=window)
        cv2.add(kept[:rows, :width], window, dst=window)
    return out


def _extent(weight: np.ndarray) -> tuple[int, int]:
    """[left, right) of the columns where ``weight`` is not 0 (left >= right: none)."""
    left, _, width, _ = cv2.boundingRect(weight)
    return left, left + width


def _spread(weight: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """An HxW uint8 weight as ``buffer``'s channels (into it), or the weight itself for one channel.
    cvtColor, not merge: merge walks a strided window row by row, one call a row."""
    if buffer.ndim == 2:
        return weight
    return cv2.cvtColor(weight, cv2.COLOR_GRAY2BGR, dst=buffer)


def mix_in_box(layers: list[tuple[np.ndarray, np.ndarray]], outside: np.ndarray, out: np.ndarray,
               box: tuple[int, int, int, int] | None, scratch: Scratch, name: str = "mix") -> np.ndarray:
    """``out`` = sum of layer * weight / 255 inside ``box`` (uint8 BGR layers, uint8 HxW weights that sum to
    at most 255 per pixel), ``outside`` elsewhere. Two blends in a row (the person's edge, then the person
    onto the background) are one mix of three layers: one 3-channel multiply fewer, and no intermediate."""
    # the outside layer's own weight, when it is one of the layers: where it is 255 the others are 0 and the
    # pixel is the outside layer's, so each strip is mixed only across the columns where it is not (the
    # person's own extent: a box's upper strips are mostly the empty corners beside the head)
    behind = next((weight for layer, weight in layers if layer is outside), None)
    copy_outside(out, outside, box if behind is None else None)
    if box is None:
        return out
    y0, y1, x0, x1 = box
    spread = scratch.get(f"{name}.weights", (STRIP_ROWS,) + out.shape[1:])
    part = scratch.get(f"{name}.part", (STRIP_ROWS,) + out.shape[1:])
    present = scratch.get(f"{name}.present", (STRIP_ROWS, out.shape[1]))
    for start in range(y0, y1, STRIP_ROWS):
        stop = min(y1, start + STRIP_ROWS)
        rows = stop - start
        left, right = x0, x1
        if behind is not None:
            span = cv2.bitwise_not(behind[start:stop, x0:x1], dst=present[:rows, :x1 - x0])
            offset, _, width, _ = cv2.boundingRect(span)
            if width == 0:
                continue
            left, right = x0 + offset, x0 + offset + width
        window = out[start:stop, left:right]
        if compiled is not None:   # the same pixels in one pass over the strip
            compiled.mix([layer[start:stop, left:right] for layer, _ in layers],
                         [weight[start:stop, left:right] for _, weight in layers], window)
            continue
        for index, (layer, weight) in enumerate(layers):
            on_layer = _spread(weight[start:stop, left:right], spread[:rows, :right - left])
            cv2.multiply(layer[start:stop, left:right], on_layer, scale=_INV255,
                         dst=window if index == 0 else part[:rows, :right - left])
            if index:
                cv2.add(window, part[:rows, :right - left], dst=window)
    return out
