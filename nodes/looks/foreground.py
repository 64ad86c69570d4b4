"""Foreground colour estimation: the person's own colour at soft edges, without the old background mixed in.

Not for: deciding where the person is (nodes/fringe.py) or compositing (blend.py). A soft edge pixel is
``I = a*F + (1-a)*B``; drawing ``I`` over a new background keeps the old ``B`` in it (a bright halo round
dark hair shot against a window). This recovers ``F`` with the two-pass blur-fusion estimate of Forte &
Pitie, "Approximate fast foreground colour estimation" (ICIP 2021): local means of foreground and
background colour from box blurs weighted by alpha, then each pixel corrected towards its observed colour

    F = mean_F + a * (I - a * mean_F - (1 - a) * mean_B)

first with a wide box on the image itself (paper: 90 px), then with a small one (paper: 6 px) on the
first pass's foreground and background. The wide pass is smooth by construction, so it runs on a 4x
smaller grid; the per-pixel formulas run only on the edge band (alpha neither 0 nor 1, plus a thin rim
outside the person where the estimate bleeds the person's colour outwards so that chroma subsampling and
a compositor's resampling never pull the old background back in). Elsewhere the output is the image.
"""
from __future__ import annotations

import cv2
import numpy as np

#: box sizes as fractions of the frame height. The paper's are 90 and 6 px on ~1000-2000 px matting
#: images; a webcam frame's head is about a third of its height, and a wider first box reaches solid hair
#: behind long wisps (tests/nodes/test_foreground.py's strands at 720p: 1/6 of the height leaves 19% less
#: halo than 1/8 and 30% less than 90 px)
WIDE_BOX_FRACTION = 1.0 / 6.0
NARROW_BOX_FRACTION = 6.0 / 720.0
#: the wide pass runs on a grid this many times smaller (its result is a blur over ~90 px anyway)
WIDE_PASS_SHRINK = 4
_EPS = 1e-5
#: alpha below this counts as background, above 1 - this as solid person (half an 8-bit level)
_SOLID = 0.5 / 255.0
#: row length of the sample maps handed to cv2.remap in _sample
_MAP_WIDTH = 1024


def _box(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.blur(image, (size, size), borderType=cv2.BORDER_REFLECT)


def _fuse(observed: np.ndarray, alpha: np.ndarray, mean_f: np.ndarray, mean_b: np.ndarray) -> np.ndarray:
    """One blur-fusion correction on N pixels (observed, mean_f, mean_b: Nx3; alpha: Nx1), clipped."""
    estimate = mean_f + alpha * (observed - alpha * mean_f - (1.0 - alpha) * mean_b)
    return np.clip(estimate, 0.0, 1.0, out=estimate)


def _sample(grid: np.ndarray, rows: np.ndarray, cols: np.ndarray, shrink: int) -> np.ndarray:
    """Bilinear samples (NxC, float32) of a small grid at full-resolution pixel positions (what
    cv2.resize's INTER_LINEAR upsampling would give there, without upsampling the whole grid).

    cv2.remap on a 1xN map does the gathering and weighting in one pass (numpy's four fancy-indexed
    gathers of N x C floats took 40% of the cut-out's time at 720p: 13 of 30 ms); its weights are
    quantised to 1/32 px, which on this ~90 px box-blurred grid moves a sample by under 0.001."""
    height, width = grid.shape[:2]
    count = len(rows)
    # remap's maps are images (sides under 32767): the N positions as rows of _MAP_WIDTH, the last padded
    padded = -(-max(count, 1) // _MAP_WIDTH) * _MAP_WIDTH
    scale = np.float32(1.0 / shrink)
    y = np.zeros(padded, np.float32)
    x = np.zeros(padded, np.float32)
    np.clip((rows.astype(np.float32) + 0.5) * scale - 0.5, 0.0, height - 1.0, out=y[:count])
    np.clip((cols.astype(np.float32) + 0.5) * scale - 0.5, 0.0, width - 1.0, out=x[:count])
    y, x = y.reshape(-1, _MAP_WIDTH), x.reshape(-1, _MAP_WIDTH)
    channels = 1 if grid.ndim == 2 else grid.shape[2]
    parts = []
    for first in range(0, channels, 4):   # remap takes at most 4 channels
        chunk = grid if grid.ndim == 2 else np.ascontiguousarray(grid[..., first:first + 4])
        sampled = cv2.remap(chunk, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        parts.append(sampled.reshape(padded, -1)[:count])
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, *,
                        wide_box_fraction: float = WIDE_BOX_FRACTION,
                        narrow_box_fraction: float = NARROW_BOX_FRACTION) -> np.ndarray:
    """The person's colour (uint8 HxWx3 BGR) for ``image`` (uint8 HxWx3 BGR) under ``alpha`` (float32 HxW
    in [0, 1], person = 1). Pixels outside the edge band are the image's own; a new array either way."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 HxWx3 BGR, got {image.dtype} {image.shape}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha must be HxW {image.shape[:2]} like the image, got {alpha.shape}")
    alpha = np.asarray(alpha, np.float32)
    height, width = alpha.shape
    out = image.copy()
    soft = cv2.inRange(alpha, _SOLID, 1.0 - _SOLID)
    x, y, w, h = cv2.boundingRect(soft)
    if w == 0 or h == 0:
        return out   # no soft edge at all (empty, solid or binary mask): nothing to decontaminate
    narrow = max(3, round(narrow_box_fraction * height))
    # all full-resolution work happens in the soft edge's bounding box, padded by the narrow box
    top, left = max(0, y - narrow), max(0, x - narrow)
    bottom, right = min(height, y + h + narrow), min(width, x + w + narrow)
    alpha_crop, image_crop = alpha[top:bottom, left:right], image[top:bottom, left:right]
    # the band: not solid person, and close enough to the person that the narrow box sees some of it
    narrow_alpha = _box(alpha_crop, narrow)
    band = (alpha_crop < 1.0 - _SOLID) & (narrow_alpha > _SOLID)
    rows, cols = np.nonzero(band)
    # gathers and scatters by flat index (np.take on one axis) instead of (rows, cols) pairs: 3-4x faster
    crop_flat = rows * (right - left) + cols
    full_rows, full_cols = rows + top, cols + left
    full_flat = full_rows * width + full_cols
    out_pixels = out.reshape(-1, 3)          # out is a contiguous copy of the image
    a = np.take(np.ascontiguousarray(alpha).reshape(-1), full_flat)[:, None]
    observed = np.take(out_pixels, full_flat, axis=0).astype(np.float32)
    observed *= np.float32(1.0 / 255.0)

    # pass 1, wide box, on a small grid: local means of the image weighted by alpha and by 1 - alpha
    shrink = WIDE_PASS_SHRINK if min(height, width) >= 8 * WIDE_PASS_SHRINK else 1
    small_size = (max(1, width // shrink), max(1, height // shrink))
    small_image = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_image *= np.float32(1.0 / 255.0)
    small_alpha = cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA)
    wide = max(3, round(wide_box_fraction * height / shrink))
    small_weight = _box(small_alpha, wide)[..., None]
    small_mean_f = _box(small_image * small_alpha[..., None], wide) / (small_weight + _EPS)
    small_mean_b = _box(small_image * (1.0 - small_alpha)[..., None], wide) / ((1.0 - small_weight) + _EPS)
    mean_b1 = _sample(small_mean_b, full_rows, full_cols, shrink)
    fore1 = _fuse(observed, a, _sample(small_mean_f, full_rows, full_cols, shrink), mean_b1)

    # pass 2, narrow box, on the first pass's estimates. Outside the band F1 * a is the image's own I * a
    # (exactly I where a = 1, zero where a = 0), so only band pixels are replaced before blurring. The
    # paper also re-blurs the first pass's background over the narrow box: that field is already a
    # 90-px box average, so a 6-px box leaves it as it is; its own value is used.
    # I * a / 255 in one OpenCV pass (float32 result)
    weighted_f = cv2.multiply(image_crop, cv2.merge((alpha_crop, alpha_crop, alpha_crop)),
                              scale=1.0 / 255.0, dtype=cv2.CV_32F)
    fore1 *= a
    weighted_f.reshape(-1, 3)[crop_flat] = fore1
    mean_f2 = np.take(_box(weighted_f, narrow).reshape(-1, 3), crop_flat, axis=0)
    mean_f2 /= np.take(narrow_alpha.reshape(-1), crop_flat)[:, None] + np.float32(_EPS)
    fore2 = _fuse(observed, a, mean_f2, mean_b1)
    fore2 *= np.float32(255.0)
    fore2 += np.float32(0.5)
    out_pixels[full_flat] = fore2.astype(np.uint8)
    return out
