"""A contact sheet PNG: one row per case with the image, the truth, our mask and where they differ.

Not for: computing scores (evaluation/metrics.py); this only lays out pictures people can look at.
Difference colours: red = person missed (truth yes, ours no), blue = extra (ours yes, truth no).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..graph.errors import DeviceError


@dataclass(frozen=True)
class SheetRow:
    label: str
    image_bgr: np.ndarray
    truth: np.ndarray
    ours: np.ndarray


def _mask_tile(mask: np.ndarray) -> np.ndarray:
    grey = (np.clip(mask, 0.0, 1.0) * 255.0).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def difference_tile(truth: np.ndarray, ours: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Black where they agree, red where the person was missed, blue where ours added some."""
    t, o = truth >= threshold, ours >= threshold
    tile = np.zeros(truth.shape + (3,), np.uint8)
    tile[t & ~o] = (0, 0, 255)
    tile[o & ~t] = (255, 0, 0)
    tile[t & o] = (48, 48, 48)
    return tile


def render_sheet(rows: list[SheetRow], tile_height: int = 180) -> np.ndarray:
    """The sheet as a uint8 BGR image (4 tiles per row, a caption above each row)."""
    if not rows:
        raise ValueError("a contact sheet needs at least one row")
    caption = 22
    rendered = []
    for row in rows:
        h, w = row.image_bgr.shape[:2]
        size = (max(1, round(w * tile_height / h)), tile_height)
        tiles = [row.image_bgr[..., :3], _mask_tile(row.truth), _mask_tile(row.ours),
                 difference_tile(row.truth, row.ours)]
        tiles = [cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in tiles]
        strip = np.concatenate([np.pad(t, ((0, 0), (0, 4), (0, 0))) for t in tiles], axis=1)
        band = np.full((caption, strip.shape[1], 3), 255, np.uint8)
        cv2.putText(band, row.label, (4, caption - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
        rendered.append(np.concatenate([band, strip], axis=0))
    width = max(r.shape[1] for r in rendered)
    rendered = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rendered]
    return np.concatenate(rendered, axis=0)


def write_sheet(rows: list[SheetRow], path: str | Path, tile_height: int = 180) -> Path:
    """Render and write the sheet as PNG; raises DeviceError naming the path when it cannot be written."""
    path = Path(path)
    sheet = render_sheet(rows, tile_height)
    try:
        ok = cv2.imwrite(str(path), sheet)
    except cv2.error as exc:
        raise DeviceError(f"cannot write contact sheet {path}: {exc}") from exc
    if not ok:
        raise DeviceError(f"cannot write contact sheet {path} (does the folder exist? is it .png?)")
    return path
