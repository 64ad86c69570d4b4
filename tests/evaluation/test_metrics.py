"""Each quality metric on small hand-made masks whose answers are worked out by hand.

Not for: the nodes' quality (tests/nodes/test_fringe.py, test_smooth.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from portraitflow.evaluation import metrics
from portraitflow.graph.errors import ContractError


def square(size: int, top: int, left: int, side: int) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    mask[top:top + side, left:left + side] = 1.0
    return mask


def test_iou_of_two_overlapping_squares():
    a = square(10, 0, 0, 4)        # 16 px
    b = square(10, 0, 2, 4)        # 16 px, 8 shared
    assert metrics.iou(a, b) == pytest.approx(8 / 24)
    assert metrics.iou(a, a) == 1.0
    assert metrics.iou(a, square(10, 6, 6, 4)) == 0.0


def test_iou_thresholds_soft_masks_and_empty_masks_agree():
    soft = np.full((4, 4), 0.4, np.float32)
    assert metrics.iou(soft, np.zeros((4, 4), np.float32)) == 1.0   # both empty at 0.5
    assert metrics.iou(soft, np.ones((4, 4), np.float32), threshold=0.3) == 1.0


def test_iou_rejects_different_sizes_naming_both():
    with pytest.raises(ContractError, match=r"\(4, 4\) vs truth \(5, 5\)"):
        metrics.iou(np.zeros((4, 4), np.float32), np.zeros((5, 5), np.float32))


def test_boundary_f_is_one_for_identical_and_within_tolerance():
    a = square(40, 10, 10, 20)
    assert metrics.boundary_f(a, a) == 1.0
    moved = square(40, 10, 12, 20)   # every edge pixel within 2 px of the other's edge
    assert metrics.boundary_f(moved, a, tolerance_px=2) == 1.0


def test_boundary_f_counts_far_edges_as_misses():
    a = square(40, 10, 10, 20)
    moved = square(40, 10, 15, 20)   # shifted 5 px right
    f = metrics.boundary_f(moved, a, tolerance_px=2)
    # boundary of a 20x20 square: 76 px (20 + 20 + 18 + 18). Of the moved one's, within 2 px of the
    # other's: 17 px on the top row (15 overlap + 2 past the corner), 17 on the bottom, and 2 + 2 on the
    # left column next to those rows; none on the right column (5 px away). 38/76 both ways: F = 0.5
    assert f == pytest.approx(0.5)
    assert metrics.boundary_f(moved, a, tolerance_px=5) == 1.0


def test_boundary_f_empty_cases():
    empty = np.zeros((8, 8), np.float32)
    assert metrics.boundary_f(empty, empty) == 1.0
    assert metrics.boundary_f(square(8, 2, 2, 4), empty) == 0.0


def test_flicker_of_a_still_mask_is_zero_and_of_a_blinking_pixel_is_known():
    a = square(20, 5, 5, 10)
    assert metrics.temporal_flicker([a, a, a]) == 0.0
    b = a.copy()
    b[10, 10] = 0.0                    # one pixel of 400 changes by 1 in each of the 2 transitions
    assert metrics.temporal_flicker([a, b, a]) == pytest.approx(1 / 400)


def test_flicker_undoes_known_motion():
    a = square(40, 10, 10, 12)
    frames = [metrics.shift(a, dx, 0) for dx in (0, 3, 6)]
    assert metrics.temporal_flicker(frames) > 0.01           # moving, with no motion given
    offsets = [(0.0, 0.0), (3.0, 0.0), (6.0, 0.0)]
    assert metrics.temporal_flicker(frames, offsets) == pytest.approx(0.0, abs=1e-6)


def test_flicker_needs_two_masks():
    with pytest.raises(ContractError, match="at least 2"):
        metrics.temporal_flicker([square(8, 0, 0, 2)])


def test_lag_is_zero_for_masks_that_follow_and_counts_frames_for_masks_that_trail():
    reference = square(64, 20, 10, 16)
    offsets = [(4.0 * t, 0.0) for t in range(8)]
    following = [metrics.shift(reference, dx, dy) for dx, dy in offsets]
    assert metrics.lag_in_frames(following, reference, offsets) == 0.0
    # masks that show where the content was two frames earlier
    trailing = [metrics.shift(reference, *offsets[max(0, t - 2)]) for t in range(8)]
    lag = metrics.lag_in_frames(trailing, reference, offsets, skip_first=2)
    assert lag == pytest.approx(2.0)
