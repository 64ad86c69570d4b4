"""The guided filter's compiled passes (nodes/guide_pass.c) against the OpenCV calls they stand for: the grey
cv2.cvtColor makes (every one of the 2^24 colours, BGR and BGRA; real frames at 480p to 4K and odd sizes; the
views a plugin may send), the grey's exact 2x area average (cvtColor then INTER_AREA), the apply fed the
BGR(A) frame against the apply fed cvtColor's grey (bit for bit), and the low-res fit against the numpy and
cv2.boxFilter arithmetic it replaces. Then the fringe itself in child processes with PORTRAITFLOW_COMPILED=1
and =0 on the real photo and its real mask; bad arguments name the argument.

Not for: the apply's formula and feather (tests/nodes/test_frame_passes.py) or the fringe's quality
(tests/nodes/test_fringe.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.guided_upsample import GuidedUpsampler, grey_passes, halves_first, shrink_to

from support.paths import PARITY

needs_grey_passes = pytest.mark.skipif(grey_passes is None, reason="the compiled passes are off, or their grey "
                                       "is not this OpenCV's (see guided_upsample._compiled_grey_is_opencvs)")
PHOTO = PARITY / "astronaut_in_coffee_1280x720.png"
MASKS = PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz"
#: (height, width): 480p both ways round, 720p, 1080p, 4K, odd sizes, and rows shorter than a vector step
SIZES = [(480, 640), (480, 854), (720, 1280), (1080, 1920), (2160, 3840), (361, 641), (5, 9), (3, 17)]


def every_colour() -> np.ndarray:
    """A 4096 x 4096 BGR image holding each of the 2^24 colours once."""
    code = np.arange(1 << 24, dtype=np.uint32)
    return np.stack([code & 255, (code >> 8) & 255, code >> 16], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)


def photo_at(height: int, width: int) -> np.ndarray:
    photo = cv2.imread(str(PHOTO))
    shrinking = height * width <= photo.shape[0] * photo.shape[1]
    return cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def opencv_grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY if frame.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)


def views(frame: np.ndarray) -> dict[str, np.ndarray]:
    """The frame, as BGRA, and the views a plugin may send: mirrored, upside down, channels reversed, a box."""
    bgra = cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA)
    bgra[..., 3] = np.arange(frame.shape[1], dtype=np.uint32)[None, :] % 256   # an alpha that varies
    h, w = frame.shape[:2]
    return {"bgr": frame, "bgra": bgra, "mirrored": frame[:, ::-1], "upside down": frame[::-1],
            "channels reversed": frame[..., ::-1], "a box": frame[h // 8: h - h // 8 or h, w // 7: w - w // 9 or w],
            "bgra mirrored": bgra[:, ::-1]}


@needs_grey_passes
def test_the_grey_is_cvtcolors_for_every_colour_bgr_and_bgra():
    image = every_colour()
    got = np.empty(image.shape[:2], np.uint8)
    grey_passes.grey(image, got)
    assert np.array_equal(got, cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    bgra = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    bgra[..., 3] = np.arange(4096, dtype=np.uint32)[:, None] % 256   # the alpha is not part of the grey
    got[:] = 0
    grey_passes.grey(bgra, got)
    assert np.array_equal(got, cv2.cvtColor(bgra, cv2.COLOR_BGRA2GRAY))


@needs_grey_passes
def test_the_apply_fed_the_frame_makes_cvtcolors_grey_for_every_colour():
    """a = 1/256, b = 0: the apply's result is the grey it made, over 256, exactly (a power of two)."""
    image = every_colour()[:2048]        # half of the colours a run, to bound the float result's size
    for part in (image, every_colour()[2048:]):
        rows = part.shape[0] // 4
        a = np.full((rows, part.shape[1]), 1 / 256, np.float32)
        out = np.empty(part.shape[:2], np.float32)
        grey_passes.guided_apply(a, np.zeros_like(a), part, out)
        assert np.array_equal((out * 256).astype(np.uint8), cv2.cvtColor(part, cv2.COLOR_BGR2GRAY))


@needs_grey_passes
@pytest.mark.parametrize("height,width", SIZES)
def test_the_grey_and_its_halving_are_opencvs_on_real_frames_and_views(height, width):
    for name, frame in views(photo_at(height, width)).items():
        grey = opencv_grey(np.ascontiguousarray(frame))
        got = np.full(frame.shape[:2], 7, np.uint8)
        grey_passes.grey(frame, got)
        assert np.array_equal(got, grey), f"{name} at {width}x{height}"
        h, w = frame.shape[:2]
        if h < 2 or w < 2:
            continue
        # shrink_to's exact 2x step: an odd last row or column left out, then INTER_AREA to half
        expected = cv2.resize(grey[: h - h % 2, : w - w % 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        half = np.full((h // 2, w // 2), 7, np.uint8)
        grey_passes.grey_halve(frame, half)
        assert np.array_equal(half, expected), f"{name} halved at {width}x{height}"
        # and with the full-size grey written on the way (its odd last row and column too)
        half[:], got[:] = 7, 7
        grey_passes.grey_halve(frame, half, got)
        assert np.array_equal(half, expected) and np.array_equal(got, grey), f"{name} halved at {width}x{height}"


@needs_grey_passes
@pytest.mark.parametrize("height,width", SIZES)
def test_the_apply_fed_the_frame_is_the_apply_fed_opencvs_grey_bit_for_bit(height, width):
    rng = np.random.default_rng(width)
    for name, frame in views(photo_at(height, width)).items():
        h, w = frame.shape[:2]
        rows = max(2, h // 4)
        a_rows = (rng.random((rows, w), np.float32) * 8 - 4) / 255
        b_rows = rng.random((rows, w), np.float32) * 3 - 1
        grey = opencv_grey(np.ascontiguousarray(frame))
        for taps in (None, cv2.getGaussianKernel(3, 0.5, cv2.CV_32F).ravel(),
                     cv2.getGaussianKernel(7, 1.0, cv2.CV_32F).ravel()):
            expected, got = np.empty((h, w), np.float32), np.full((h, w), np.nan, np.float32)
            grey_passes.guided_apply(a_rows, b_rows, grey, expected, taps)
            grey_passes.guided_apply(a_rows, b_rows, frame, got, taps)
            assert np.array_equal(got, expected), f"{name} at {width}x{height}, taps {taps}"


@needs_grey_passes
@pytest.mark.parametrize("height,width", SIZES[:6])
def test_the_low_res_guide_is_shrink_to_of_opencvs_grey(height, width):
    """What the fit and the apply start from, with the compiled grey and halving where the first step is one
    (480p 4:3, 720p, 1080p, 4K) and cvtColor where it is not (854x480, 641x361): the old guide and the old
    full-size grey, bit for bit."""
    upsampler = GuidedUpsampler()
    for name, frame in views(photo_at(height, width)).items():
        h, w = frame.shape[:2]
        size = upsampler.low_size(h, w)
        low, full = upsampler.low_grey(frame)
        grey = opencv_grey(np.ascontiguousarray(frame))
        assert np.array_equal(low, shrink_to(grey, size)), f"{name} at {width}x{height}"
        assert np.array_equal(full, grey), f"{name} at {width}x{height}"
    assert halves_first(720, 1280, (320, 180)) and halves_first(480, 640, (320, 240))
    assert not halves_first(480, 854, (320, 180)) and not halves_first(361, 641, (320, 180))


def numpy_fit(low: np.ndarray, p: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """GuidedUpsampler's fit without the compiled passes: numpy products and cv2.boxFilter means."""
    guide = low.astype(np.float32) * np.float32(1 / 255)
    ksize = (2 * radius + 1,) * 2

    def box(x):
        return cv2.boxFilter(x, cv2.CV_32F, ksize, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(p)
    a = (box(guide * p) - mean_i * mean_p) / (box(guide * guide) - mean_i * mean_i + np.float32(eps))
    mean_a = box(a)
    return mean_a * np.float32(1 / 255), p - mean_a * mean_i


@pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
@pytest.mark.parametrize("height,width", SIZES[:6])
def test_the_fit_is_the_numpy_paths_the_same_numbers_at_radius_1_and_2_and_within_float_rounding_beyond(height,
                                                                                                          width):
    """On the real photo's low-res grey and its real mask: a (scaled for a uint8 guide) within 1e-6 / 255 and
    b within 1e-6 of the numpy path's at every radius the fringe allows (up to 32, wider than small grids,
    whose reflections then repeat) and a range of eps; at radius 1 and 2 (the recipes' 2) exactly them."""
    upsampler = GuidedUpsampler()
    low, _ = upsampler.low_grey(photo_at(height, width))
    mask = np.load(MASKS)["selfie_segmentation_landscape__modelsize"]
    p = cv2.resize(mask, low.shape[::-1], interpolation=cv2.INTER_LINEAR)
    for radius, eps in [(1, 1e-3), (2, 1e-3), (2, 1e-4), (2, 0.1), (3, 1e-3), (4, 1e-2), (8, 1e-4), (32, 1e-3)]:
        expected_a, expected_b = numpy_fit(low, p, radius, eps)
        a, b = np.full_like(p, np.nan), np.full_like(p, np.nan)
        compiled.guided_fit(low, p, radius, eps, a, b)
        where = f"radius {radius} eps {eps} on a {low.shape[1]}x{low.shape[0]} grid"
        assert np.abs(a - expected_a).max() * 255 <= 1e-6 and np.abs(b - expected_b).max() <= 1e-6, where
        if radius <= 2:
            assert np.array_equal(a, expected_a) and np.array_equal(b, expected_b), where
        assert np.abs(a).max() * 255 > 0.1, where    # the guide's edges moved the fit: not a flat result


@pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
def test_the_fit_on_tiny_grids_and_views_is_the_numpy_paths():
    """Grids smaller than the box (2x2, 3x17 at radius 8: reflections that repeat), and inputs given as views
    (an upside-down p, a mirrored guide, a box of each), outputs in rows of a larger array."""
    rng = np.random.default_rng(3)
    for rows, cols, radius in [(2, 2, 1), (2, 2, 2), (3, 17, 8), (17, 3, 5), (1, 9, 2), (180, 320, 2)]:
        low = rng.integers(0, 256, (rows, cols), np.uint8)
        p = rng.random((rows, cols), np.float32)
        expected_a, expected_b = numpy_fit(low, p, radius, 1e-3)
        a, b = np.empty_like(p), np.empty_like(p)
        compiled.guided_fit(low, p, radius, 1e-3, a, b)
        assert np.abs(a - expected_a).max() * 255 <= 1e-6 and np.abs(b - expected_b).max() <= 1e-6, (rows, cols)
    low = rng.integers(0, 256, (200, 340), np.uint8)
    p = rng.random((200, 340), np.float32)
    guide_view, p_view = low[10:190, ::-1][:, 10:330], p[::-1][10:190, 10:330]
    expected_a, expected_b = numpy_fit(np.ascontiguousarray(guide_view), np.ascontiguousarray(p_view), 2, 1e-3)
    outputs = np.zeros((2, 200, 400), np.float32)
    a, b = outputs[0, 5:185, 20:340], outputs[1, 5:185, 20:340]
    compiled.guided_fit(guide_view, p_view, 2, 1e-3, a, b)
    assert np.array_equal(a, expected_a) and np.array_equal(b, expected_b)
    assert not outputs[0, :5].any() and not outputs[:, :, 340:].any()     # nothing written outside the boxes


CHILD = """
import json, sys
import cv2, numpy as np
from portraitflow.nodes.fringe import EdgeRefiner, FringeOptions
from portraitflow.nodes.guided_upsample import grey_passes
cases, frame_path, mask_path, out_path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
photo, mask = cv2.imread(frame_path), np.load(mask_path)
results = {}
for index, (height, width, options, view) in enumerate(cases):
    frame = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    frame = {"bgr": frame, "bgra": cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA), "mirrored": frame[:, ::-1]}[view]
    refiner = EdgeRefiner(FringeOptions(**options))
    results[str(index)] = np.stack([refiner.refine(frame, mask), refiner.refine(frame, mask)])   # buffers reused
np.savez(out_path, **results)
print(json.dumps({"grey_passes": grey_passes is not None}))
"""

CASES = [(h, w, options, view) for (h, w) in [(480, 640), (480, 854), (720, 1280), (1080, 1920), (361, 641)]
         for options, view in [({}, "bgr"), ({"feather": 1.0}, "bgr"), ({"feather": 2.0}, "bgra"),
                               ({"feather": 1.0}, "mirrored"), ({"feather": 1.0, "spread": 2}, "bgr"),
                               ({"guide": "colour", "feather": 1.0}, "bgr")]]


@pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
def test_the_fringe_is_the_same_with_and_without_the_compiled_passes(tmp_path):
    """Child processes with PORTRAITFLOW_COMPILED=1 and =0 on the real photo and its real mask, at 480p to 1080p
    and an odd size, BGR, BGRA and mirrored, feathered, spread and with the colour guide. The grey and its
    halving are OpenCV's to the bit, so what is left is the compiled apply's float rounding of a and b's rows
    against cv2.resize's (up to 2e-6 measured, the same before the grey moved into the passes): within 1e-5,
    a 400th of a level of 255; the colour guide (OpenCV calls on both paths) is the same pixels."""
    frame_path, mask_path = tmp_path / "frame.png", tmp_path / "mask.npy"
    cv2.imwrite(str(frame_path), cv2.imread(str(PHOTO)))
    np.save(mask_path, np.load(MASKS)["selfie_segmentation_landscape__modelsize"])
    both, used = [], []
    for switch in ("1", "0"):
        out_path = tmp_path / f"{switch}.npz"
        result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(CASES), str(frame_path), str(mask_path),
                                 str(out_path)], env={**os.environ, SWITCH: switch}, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        both.append(np.load(out_path))
        used.append(json.loads(result.stdout.splitlines()[-1])["grey_passes"])
    assert used == [True, False]
    for index, (height, width, options, view) in enumerate(CASES):
        compiled_run, opencv_run = (runs[str(index)] for runs in both)
        assert compiled_run.shape == opencv_run.shape == (2, height, width)
        assert np.array_equal(compiled_run[0], compiled_run[1]) and np.array_equal(opencv_run[0], opencv_run[1])
        difference = float(np.abs(compiled_run - opencv_run).max())
        if options.get("guide") == "colour":
            assert difference == 0.0, f"{options} {view} at {width}x{height}: {difference}"
        assert difference <= 1e-5, f"{options} {view} at {width}x{height}: {difference}"
        assert 0.05 < compiled_run.mean() < 0.95 and compiled_run.std() > 0.1   # a real person's mask


@needs_grey_passes
def test_bad_arguments_name_the_argument_and_what_was_expected():
    """grey, grey_halve, guided_apply and guided_fit: each wrong argument named, with what was expected."""
    frame = np.zeros((72, 128, 3), np.uint8)
    with pytest.raises(ValueError, match=r"frame: expected grey \(1 channel\), BGR \(3\) or BGRA \(4\), got 2"):
        grey_passes.grey(np.zeros((72, 128, 2), np.uint8), np.zeros((72, 128), np.uint8))
    with pytest.raises(TypeError, match=r"frame: expected uint8, got items of format 'f'"):
        grey_passes.grey(frame.astype(np.float32), np.zeros((72, 128), np.uint8))
    with pytest.raises(ValueError, match=r"out: expected the size of frame, 72 x 128 x 1, got 72 x 64 x 1"):
        grey_passes.grey(frame, np.zeros((72, 64), np.uint8))
    with pytest.raises(ValueError, match=r"out: expected one channel, got 3"):
        grey_passes.grey(frame, frame.copy())
    with pytest.raises(ValueError, match=r"out: expected half of frame's 72 x 128, 36 x 64 x 1, got 36 x 65 x 1"):
        grey_passes.grey_halve(frame, np.zeros((36, 65), np.uint8))
    with pytest.raises(TypeError, match=r"out: expected a writable numpy array"):
        readonly = np.zeros((36, 64), np.uint8)
        readonly.flags.writeable = False
        grey_passes.grey_halve(frame, readonly)
    with pytest.raises(TypeError, match=r"grey_halve\(\) takes at least 2 arguments"):
        grey_passes.grey_halve(frame)
    with pytest.raises(ValueError, match=r"grey: expected the size of frame, 72 x 128 x 1, got 72 x 127 x 1"):
        grey_passes.grey_halve(frame, np.zeros((36, 64), np.uint8), np.zeros((72, 127), np.uint8))
    with pytest.raises(ValueError, match=r"grey: expected one channel, got 3"):
        grey_passes.grey_halve(frame, np.zeros((36, 64), np.uint8), frame.copy())
    rows = np.zeros((18, 128), np.float32)
    with pytest.raises(ValueError, match=r"guide: expected grey \(1 channel\), BGR \(3\) or BGRA \(4\), got 2"):
        grey_passes.guided_apply(rows, rows, np.zeros((72, 128, 2), np.uint8), np.zeros((72, 128), np.float32))
    with pytest.raises(ValueError, match=r"out: expected the size of guide, 72 x 128 x 1, got 72 x 100 x 1"):
        grey_passes.guided_apply(rows, rows, frame, np.zeros((72, 100), np.float32))
    with pytest.raises(ValueError, match=r"out: expected one channel, got 3"):
        grey_passes.guided_apply(rows, rows, frame, np.zeros((72, 128, 3), np.float32))
    with pytest.raises(ValueError, match=r"a_rows: expected one channel, at most 72 rows of 128, got 80 x 128 x 1"):
        grey_passes.guided_apply(np.zeros((80, 128), np.float32), np.zeros((80, 128), np.float32), frame,
                                 np.zeros((72, 128), np.float32))
    grid = np.zeros((18, 32), np.uint8)
    a, b, p = (np.zeros((18, 32), np.float32) for _ in range(3))
    with pytest.raises(ValueError, match=r"radius: expected 1 to 255, got 0"):
        compiled.guided_fit(grid, p, 0, 1e-3, a, b)
    with pytest.raises(ValueError, match=r"eps: expected a finite number > 0, got 0.0"):
        compiled.guided_fit(grid, p, 2, 0.0, a, b)
    with pytest.raises(ValueError, match=r"eps: expected a finite number > 0, got nan"):
        compiled.guided_fit(grid, p, 2, float("nan"), a, b)
    with pytest.raises(ValueError, match=r"guide: expected one channel, got 3"):
        compiled.guided_fit(np.zeros((18, 32, 3), np.uint8), p, 2, 1e-3, a, b)
    with pytest.raises(ValueError, match=r"p: expected the size of guide, 18 x 32 x 1, got 18 x 31 x 1"):
        compiled.guided_fit(grid, p[:, :31], 2, 1e-3, a, b)
    with pytest.raises(TypeError, match=r"b_out: expected float32, got items of format 'd'"):
        compiled.guided_fit(grid, p, 2, 1e-3, a, b.astype(np.float64))
    with pytest.raises(ValueError, match=r"a_out: expected the size of guide, 18 x 32 x 1, got 9 x 32 x 1"):
        compiled.guided_fit(grid, p, 2, 1e-3, a[:9], b)
    with pytest.raises(ValueError, match=r"a_out, b_out: expected two arrays of their own"):
        compiled.guided_fit(grid, p, 2, 1e-3, a, a)
