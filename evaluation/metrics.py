"""Mask quality as numbers: IoU, boundary F-measure, temporal flicker and lag on moving content.

Not for: producing masks or clips (evaluation/clips.py); every function here only compares masks.
Masks are float32 (or bool/uint8) HxW; soft masks are binarised at ``threshold`` where a metric needs sets.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..graph.errors import ContractError


def _binary(mask: np.ndarray, threshold: float, name: str) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.ndim != 2:
        got = f"{mask.dtype} {mask.shape}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ContractError(f"{name}: expected an HxW mask, got {got}")
    if mask.dtype == np.bool_:
        return mask
    return mask >= threshold


def _same_shape(pred: np.ndarray, truth: np.ndarray) -> None:
    if pred.shape != truth.shape:
        raise ContractError(f"mask sizes differ: prediction {pred.shape} vs truth {truth.shape}")


def iou(pred: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of the person sets; 1.0 when both are empty."""
    _same_shape(pred, truth)
    p, t = _binary(pred, threshold, "prediction"), _binary(truth, threshold, "truth")
    union = np.count_nonzero(p | t)
    if union == 0:
        return 1.0
    return np.count_nonzero(p & t) / union


def boundary(mask: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The one-pixel inner boundary of a mask's person set (bool HxW)."""
    b = _binary(mask, threshold, "mask").astype(np.uint8)
    eroded = cv2.erode(b, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), borderType=cv2.BORDER_REPLICATE)
    return (b - eroded).astype(bool)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance_px: float = 2.0,
               threshold: float = 0.5) -> float:
    """Boundary F-measure: precision and recall of boundary pixels matched within ``tolerance_px``.

    1.0 when neither mask has a boundary, 0.0 when only one has.
    """
    _same_shape(pred, truth)
    bp, bt = boundary(pred, threshold), boundary(truth, threshold)
    n_pred, n_truth = np.count_nonzero(bp), np.count_nonzero(bt)
    if n_pred == 0 and n_truth == 0:
        return 1.0
    if n_pred == 0 or n_truth == 0:
        return 0.0
    # distance of every pixel to the nearest boundary pixel of the other mask
    dist_to_truth = cv2.distanceTransform((~bt).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dist_to_pred = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    precision = np.count_nonzero(dist_to_truth[bp] <= tolerance_px) / n_pred
    recall = np.count_nonzero(dist_to_pred[bt] <= tolerance_px) / n_truth
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def shift(mask: np.ndarray, dx: float, dy: float, border_value: float = 0.0) -> np.ndarray:
    """The mask moved by (dx, dy) px (sub-pixel, bilinear); uncovered pixels get ``border_value``."""
    h, w = mask.shape[:2]
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(np.asarray(mask, np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)


def temporal_flicker(masks: Sequence[np.ndarray],
                     offsets_xy: Sequence[tuple[float, float]] | None = None) -> float:
    """Mean |m_t - m_{t-1}| over pixels and frames after undoing each frame's known content offset.

    offsets_xy[t] is where the content of frame t sits relative to a common origin, in mask px; each
    mask is moved back by it before comparing. A border as wide as the largest offset is left out, so
    pixels that moved in from outside do not count as flicker. 0 for a perfectly stable mask.
    """
    if len(masks) < 2:
        raise ContractError(f"temporal_flicker needs at least 2 masks, got {len(masks)}")
    if offsets_xy is not None and len(offsets_xy) != len(masks):
        raise ContractError(f"temporal_flicker: {len(masks)} masks but {len(offsets_xy)} offsets")
    offsets = list(offsets_xy) if offsets_xy is not None else [(0.0, 0.0)] * len(masks)
    margin = 0
    if offsets_xy is not None:
        margin = int(np.ceil(max(max(abs(dx), abs(dy)) for dx, dy in offsets))) + 1
    aligned = [shift(m, -dx, -dy) if (dx or dy) else np.asarray(m, np.float32)
               for m, (dx, dy) in zip(masks, offsets)]
    h, w = aligned[0].shape
    if 2 * margin >= min(h, w):
        raise ContractError(f"temporal_flicker: offsets up to {margin} px leave nothing of a {w}x{h} mask")
    window = (slice(margin, h - margin), slice(margin, w - margin))
    diffs = [float(np.mean(np.abs(a[window] - b[window]))) for a, b in zip(aligned[1:], aligned[:-1])]
    return float(np.mean(diffs))


def lag_in_frames(masks: Sequence[np.ndarray], reference: np.ndarray,
                  offsets_xy: Sequence[tuple[float, float]], max_lag: float = 5.0, step: float = 0.25,
                  skip_first: int = 1) -> float:
    """How many frames a mask trails moving content, averaged over frames.

    reference: the person mask with the content at offset (0, 0); offsets_xy[t]: the content's offset in
    frame t (mask px). For each frame the lag k in [0, max_lag] (in ``step``s) whose shifted reference,
    reference moved to offsets at time t - k (interpolated), has the best IoU with the mask is taken.
    A per-frame segmentation has lag 0; a mask that stays where the person was has a large lag.
    """
    if len(masks) != len(offsets_xy):
        raise ContractError(f"lag_in_frames: {len(masks)} masks but {len(offsets_xy)} offsets")
    offsets = np.asarray(offsets_xy, np.float64)
    times = np.arange(len(offsets), dtype=np.float64)
    candidates = np.arange(0.0, max_lag + 1e-9, step)
    lags = []
    for t in range(skip_first, len(masks)):
        best_lag, best_iou = 0.0, -1.0
        for k in candidates:
            when = t - k
            dx = float(np.interp(when, times, offsets[:, 0]))
            dy = float(np.interp(when, times, offsets[:, 1]))
            score = iou(masks[t], shift(reference, dx, dy))
            if score > best_iou + 1e-9:
                best_lag, best_iou = float(k), score
        lags.append(best_lag)
    if not lags:
        raise ContractError(f"lag_in_frames: needs more than {skip_first} masks, got {len(masks)}")
    return float(np.mean(lags))
