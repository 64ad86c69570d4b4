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

from .reduced import grow_crop

#: box sizes as fractions of the frame height. The paper's are 90 and 6 px on ~1000-2000 px matting
#: images; a webcam frame's head is about a third of its height, and a wider first box reaches solid hair
#: behind long wisps (tests/nodes/test_foreground.py's strands at 720p: 1/6 of the height leaves 19% less
#: halo than 1/8 and 30% less than 90 px)
WIDE_BOX_FRACTION = 1.0 / 6.0
NARROW_BOX_FRACTION = 6.0 / 720.0
#: frames are estimated at about this height (a 720p frame at half size, 4K at a sixth): see estimate_foreground
WORK_HEIGHT = 360
#: the wide pass runs on a grid this many times smaller (its result is a blur over ~90 px anyway)
WIDE_PASS_SHRINK = 4
_EPS = 1e-5
#: alpha below this counts as background, above 1 - this as solid person (half an 8-bit level)
_SOLID = 0.5 / 255.0


def _box(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.blur(image, (size, size), borderType=cv2.BORDER_REFLECT)


def _fuse(observed: np.ndarray, alpha: np.ndarray, mean_f: np.ndarray, mean_b: np.ndarray) -> np.ndarray:
    """One blur-fusion correction on N pixels (observed, mean_f, mean_b: Nx3; alpha: Nx1), clipped."""
    estimate = mean_f + alpha * (observed - alpha * mean_f - (1.0 - alpha) * mean_b)
    return np.clip(estimate, 0.0, 1.0, out=estimate)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, *,
                        wide_box_fraction: float = WIDE_BOX_FRACTION,
                        narrow_box_fraction: float = NARROW_BOX_FRACTION,
                        work_height: int = WORK_HEIGHT) -> np.ndarray:
    """The person's colour (uint8 HxWx3 BGR) for ``image`` (uint8 HxWx3 BGR) under ``alpha`` (float32 HxW
    in [0, 1], person = 1). Pixels outside the edge band are the image's own; a new array either way.

    A frame taller than about ``work_height`` is estimated at that height: the correction F - I found
    there is brought up to full size and added to the full-size image where alpha < 1, so solid person
    pixels stay exact and the edge keeps the image's own fine detail (the correction is smooth: it is
    made of box means; what it misses is the fine detail of the old background, weighted by a (1 - a))."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be uint8 HxWx3 BGR, got {image.dtype} {image.shape}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha must be HxW {image.shape[:2]} like the image, got {alpha.shape}")
    alpha = np.asarray(alpha, np.float32)
    height, width = alpha.shape
    scale = height / work_height
    if scale <= 1.25:
        return _estimate(image, alpha, wide_box_fraction, narrow_box_fraction)
    size = (max(1, round(width / scale)), max(1, round(height / scale)))
    small_image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    small_fore = _estimate(small_image, small_alpha, wide_box_fraction, narrow_box_fraction)
    correction = cv2.subtract(small_fore, small_image, dtype=cv2.CV_16S)
    x, y, w, h = cv2.boundingRect(cv2.inRange(correction, (0, 0, 0), (0, 0, 0)) ^ 255)
    out = image.copy()
    if w == 0 or h == 0:
        return out
    # the correction's bounding box, in full-size pixels (one small pixel of margin for the interpolation)
    x0, y0 = max(0, x - 1), max(0, y - 1)
    x1, y1 = min(size[0], x + w + 1), min(size[1], y + h + 1)
    top, left = round(y0 * scale), round(x0 * scale)
    bottom, right = min(height, round(y1 * scale)), min(width, round(x1 * scale))
    # only that window is brought up (its edges meet the frame's within a fraction of a pixel)
    full_correction = cv2.resize(correction[y0:y1, x0:x1], (right - left, bottom - top),
                                 interpolation=cv2.INTER_LINEAR)
    window = out[top:bottom, left:right]
    corrected = cv2.add(window, full_correction, dtype=cv2.CV_8U)
    np.copyto(window, corrected, where=(alpha[top:bottom, left:right] < 1.0 - _SOLID)[..., None])
    return out


def _estimate(image: np.ndarray, alpha: np.ndarray, wide_box_fraction: float,
              narrow_box_fraction: float) -> np.ndarray:
    """The estimate at the image's own size (see the module docstring)."""
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
    # contiguous copies of the box (small), so the band's pixels are gathered by flat index (np.take on
    # rows of a flat array is several times faster than indexing with row and column arrays)
    alpha_crop = np.ascontiguousarray(alpha[top:bottom, left:right])
    image_crop = np.ascontiguousarray(image[top:bottom, left:right])
    # the band: not solid person, and close enough to the person that the narrow box sees some of it
    narrow_alpha = _box(alpha_crop, narrow)
    band = cv2.compare(alpha_crop, 1.0 - _SOLID, cv2.CMP_LT)
    cv2.bitwise_and(band, cv2.compare(narrow_alpha, _SOLID, cv2.CMP_GT), dst=band)
    index = np.flatnonzero(band)
    a = np.take(alpha_crop, index)[:, None]
    observed = np.take(image_crop.reshape(-1, 3), index, axis=0).astype(np.float32)
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
    # both means brought up to the crop (the crop's slice of the whole frame's upsampling, which is what
    # bilinear sampling at the band pixels would give, without per-pixel maths): two 3-channel resizes, which
    # OpenCV vectorises (one 6-channel resize cost twice as much), gathered as contiguous rows
    crop = (top, bottom, left, right)
    mean_f1, mean_b1 = (np.take(np.ascontiguousarray(grow_crop(mean, height, width, crop)).reshape(-1, 3), index,
                                axis=0) for mean in (small_mean_f, small_mean_b))
    fore1 = _fuse(observed, a, mean_f1, mean_b1)

    # pass 2, narrow box, on the first pass's estimates. Outside the band F1 * a is the image's own I * a
    # (exactly I where a = 1, zero where a = 0), so only band pixels are replaced before blurring. The
    # paper also re-blurs the first pass's background over the narrow box: that field is already a
    # 90-px box average, so a 6-px box leaves it as it is; its own value is used.
    weighted_f = image_crop.astype(np.float32)
    weighted_f *= (alpha_crop * np.float32(1.0 / 255.0))[..., None]
    flat_f = weighted_f.reshape(-1, 3)
    fore1 *= a
    flat_f[index] = fore1
    mean_f2 = np.take(_box(weighted_f, narrow).reshape(-1, 3), index, axis=0)
    mean_f2 /= np.take(narrow_alpha, index)[:, None] + _EPS
    fore2 = _fuse(observed, a, mean_f2, mean_b1)
    fore2 *= 255.0
    fore2 += 0.5
    image_crop.reshape(-1, 3)[index] = fore2.astype(np.uint8)
    out[top:bottom, left:right] = image_crop
    return out
