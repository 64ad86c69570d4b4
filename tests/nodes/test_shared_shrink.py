"""The small frame shared by segment's gate and smooth's flow (nodes/shared_shrink.py): the same pixels as
making it directly, made once per frame, never another frame's (frames come and go, ids are reused)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.nodes.shared_shrink import shrink_twice_then_area


def direct(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    if frame.shape[0] > 2 * h and frame.shape[1] > 2 * w:
        frame = cv2.resize(frame, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)


def test_fresh_frames_every_time_never_get_another_frames_copy():
    rng = np.random.default_rng(7)
    for i in range(40):   # each frame freed after use: its id is likely reused by the next one
        frame = rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8)
        small = shrink_twice_then_area(frame, (256, 144))
        assert np.array_equal(small, direct(frame, (256, 144))), i
        del frame, small


def test_one_copy_per_frame_and_size_read_only():
    frame = np.random.default_rng(1).integers(0, 256, (720, 1280, 4), dtype=np.uint8)
    first = shrink_twice_then_area(frame, (256, 144))
    assert shrink_twice_then_area(frame, (256, 144)) is first
    assert shrink_twice_then_area(frame, (128, 72)).shape == (72, 128, 4)
    with pytest.raises(ValueError):
        first[0, 0, 0] = 1        # shared between nodes: nobody may write into it


def test_a_frame_smaller_than_twice_the_size_is_area_resized_directly():
    frame = np.random.default_rng(2).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert np.array_equal(shrink_twice_then_area(frame, (256, 144)), direct(frame, (256, 144)))
