"""Type for the looks: lines set with OpenCV 5's TrueType renderer (cv2.FontFace, variable weight),
with letter spacing, fitted to a width, rendered once into an alpha stamp.

Not for: layout of a whole poster (poster.py decides where lines go). OpenCV 5 bundles its fonts
("sans", a variable-weight grotesque, and "italic"), so no font file or extra package is needed.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...graph.errors import ConfigError

FONTS = ("sans", "italic")


@dataclass(frozen=True)
class TypeStyle:
    font: str = "sans"
    weight: int = 400          # 100 thin .. 400 regular .. 800 bold .. 900 black
    tracking: float = 0.0      # extra space between letters, as a fraction of the size


def _font(name: str) -> cv2.FontFace:
    if name not in FONTS:
        raise ConfigError(f"unknown font {name!r} (expected one of {', '.join(FONTS)})", field="font")
    return cv2.FontFace(name)


def set_line(text: str, size_px: float, style: TypeStyle = TypeStyle()) -> np.ndarray:
    """The line as a tight uint8 alpha stamp (255 = ink). Empty text gives a 0x0 stamp."""
    if not text.strip():
        return np.zeros((0, 0), np.uint8)
    size = max(4, round(size_px))
    face = _font(style.font)
    pad = size
    width = int(len(text) * size * (1.0 + style.tracking) + 4 * pad)
    canvas = np.zeros((int(size * 2.2) + 2 * pad, width), np.uint8)
    baseline = pad + int(size * 1.4)
    x = pad
    if style.tracking == 0:
        cv2.putText(canvas, text, (x, baseline), 255, face, size, style.weight)
    else:
        spacing = style.tracking * size
        pos = float(x)
        for char in text:   # per letter, because the renderer has no letter-spacing option
            (next_x, _), _ = cv2.putText(canvas, char, (round(pos), baseline), 255, face, size,
                                         style.weight)
            pos = next_x + spacing
    rows = np.flatnonzero(canvas.max(axis=1))
    cols = np.flatnonzero(canvas.max(axis=0))
    if rows.size == 0:
        return np.zeros((0, 0), np.uint8)
    return np.ascontiguousarray(canvas[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def fit_line(text: str, max_width: float, max_size: float, style: TypeStyle = TypeStyle()) -> np.ndarray:
    """The line at the largest size <= max_size whose stamp is at most max_width pixels wide."""
    probe = set_line(text, 100, style)
    if probe.size == 0:
        return probe
    size = min(max_size, 100.0 * max_width / probe.shape[1])
    stamp = set_line(text, size, style)
    while stamp.shape[1] > max_width and size > 4:   # rounding of hinting: shrink a step or two
        size *= 0.97
        stamp = set_line(text, size, style)
    return stamp


def common_size(texts: list[str], max_width: float, max_size: float, style: TypeStyle = TypeStyle()) -> float:
    """The one size at which every line of ``texts`` fits ``max_width`` (at most ``max_size``): captions
    set at a common size read as a set, where fitting each line alone gives every tile its own size."""
    size = float(max_size)
    for text in texts:
        probe = set_line(text, 100, style)
        if probe.size:
            size = min(size, 100.0 * max_width / probe.shape[1] * 0.97)
    return size


class PlacedStamp:
    """A stamp inked in one colour at one place on frames of one size: made once, so drawing it on a frame
    is one multiply and one add over its box (the ink's share is computed here, not per frame)."""

    def __init__(self, stamp: np.ndarray, colour_bgr: tuple[int, int, int], centre_x: int, top_y: int,
                 frame_shape: tuple[int, ...]):
        self.box: tuple[int, int, int, int] | None = None   # (top, bottom, left, right), None: nothing shows
        if stamp.size == 0:
            return
        h, w = stamp.shape
        x0, y0 = centre_x - w // 2, top_y
        ix0, iy0 = max(x0, 0), max(y0, 0)
        ix1, iy1 = min(x0 + w, frame_shape[1]), min(y0 + h, frame_shape[0])
        if ix1 <= ix0 or iy1 <= iy0:
            return
        self.box = (iy0, iy1, ix0, ix1)
        alpha = np.ascontiguousarray(stamp[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0])
        alpha3 = cv2.merge((alpha, alpha, alpha))
        ink = np.empty_like(alpha3)
        ink[:] = colour_bgr
        self._kept = cv2.multiply(ink, alpha3, scale=1 / 255)
        self._under = cv2.bitwise_not(alpha3)

    def onto(self, image: np.ndarray) -> None:
        """Ink the stamp onto ``image`` (HxWx3 or HxWx4, of the size given) in place."""
        if self.box is None:
            return
        top, bottom, left, right = self.box
        roi = image[top:bottom, left:right, :3]
        under = cv2.multiply(roi, self._under, scale=1 / 255)
        roi[:] = cv2.add(self._kept, under, dst=under)


def stamp_onto(image: np.ndarray, stamp: np.ndarray, colour_bgr: tuple[int, int, int],
               centre_x: int, top_y: int) -> None:
    """Ink ``stamp`` in ``colour`` onto ``image`` in place (the caller owns image), clipped to it. For the
    same stamp on every frame of a stream, keep a :class:`PlacedStamp`."""
    PlacedStamp(stamp, colour_bgr, centre_x, top_y, image.shape).onto(image)


def condensed(stamp: np.ndarray, factor: float) -> np.ndarray:
    """The stamp squeezed horizontally by ``factor`` (0..1): the tall, narrow letters of a film
    poster's billing block, from a font that has no condensed cut."""
    if stamp.size == 0 or factor >= 1.0:
        return stamp
    width = max(1, round(stamp.shape[1] * factor))
    return cv2.resize(stamp, (width, stamp.shape[0]), interpolation=cv2.INTER_AREA)


def fit_condensed_lines(text: str, max_width: float, size_px: float, style: TypeStyle, factor: float,
                        max_lines: int = 2, separator: str = "·") -> list[np.ndarray]:
    """``text`` as condensed stamps of at most ``max_width`` px, broken into up to ``max_lines`` lines at
    ``separator`` (or spaces) as evenly as possible, shrunk only if it still does not fit."""
    def lines_for(parts: list[str], count: int) -> list[str]:
        if count == 1 or len(parts) < 2:
            return [f"  {separator}  ".join(parts) if separator in text else " ".join(parts)]
        total = sum(len(p) for p in parts)
        best, running = 1, 0
        for index, part in enumerate(parts[:-1], 1):
            running += len(part)
            if abs(running - total / 2) < abs(sum(len(p) for p in parts[:best]) - total / 2):
                best = index
        joiner = f"  {separator}  " if separator in text else " "
        return [joiner.join(parts[:best]), joiner.join(parts[best:])]

    parts = [p.strip() for p in text.split(separator)] if separator in text else text.split()
    parts = [p for p in parts if p]
    if not parts:
        return []
    for count in range(1, max_lines + 1):
        stamps = [condensed(set_line(line, size_px, style), factor) for line in lines_for(parts, count)]
        if max(st.shape[1] for st in stamps) <= max_width:
            return stamps
    scale = max_width / max(st.shape[1] for st in stamps)
    return [condensed(set_line(line, size_px * scale * 0.98, style), factor)
            for line in lines_for(parts, max_lines)]
