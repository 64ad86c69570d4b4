"""The frame's shared small copy as one compiled pass (nodes/shrink_pass.c, through nodes/shared_shrink.py)
against the two cv2.resize calls it stands for: bit for bit, on the sample source's real frames and the real
photos at 480p, 720p, 1080p, 4K and odd sizes, on random sizes and ratios, for 3 and 4 channels, on views
(mirrored, upside down, a box, channels reversed). Where the bilinear step does not apply, and with
PORTRAITFLOW_COMPILED=0 in a child process, cv2's own path gives the same array. Bad arguments name the
argument."""
from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from portraitflow.graph.testing import NodeHarness
from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.shared_shrink import shrink_twice_then_area

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or PORTRAITFLOW_COMPILED=0)")
PHOTOS = [PARITY / "astronaut_in_coffee_1280x720.png", PARITY / "coffee_noperson_600x400.png",
          PARITY / "camera_512.png"]
#: frame sizes (rows, cols) and the small sizes (w, h) the chain asks of them: the gate's and the flow's
#: 256x144, the blur's 160x90-ish grid, and odd ones
CASES = [((480, 640), (256, 144)), ((720, 1280), (256, 144)), ((1080, 1920), (256, 144)),
         ((2160, 3840), (256, 144)), ((361, 641), (160, 90)), ((361, 641), (256, 144)), ((720, 1280), (159, 89)),
         ((1080, 1920), (320, 180)), ((483, 857), (211, 97))]


def two_resizes(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """What the pass stands for: cv2.resize's bilinear to twice the size, then its exact 2x area average."""
    w, h = size
    twice = cv2.resize(frame, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(twice, (w, h), interpolation=cv2.INTER_AREA)


def compiled_shrink(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    out = np.full((h, w, frame.shape[2]), 7, np.uint8)
    compiled.shrink_twice_then_area(frame, out)
    return out


def photo(index: int, height: int, width: int, channels: int = 3) -> np.ndarray:
    frame = cv2.resize(cv2.imread(str(PHOTOS[index % len(PHOTOS)])), (width, height), interpolation=cv2.INTER_CUBIC)
    if channels == 4:   # a real alpha: the photo's own grey as the fourth channel
        frame = np.dstack([frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)])
    return frame


@pytest.fixture(scope="module")
def sample_frames() -> list[np.ndarray]:
    """The sample source's real 720p frames (a camera moving over a real photo), a few seconds apart."""
    packets = NodeHarness("sample_source", {"frames": 90}).run()["frame"]
    return [packets[i].payload for i in (0, 29, 59, 89)]


@needs_compiled
def test_the_sample_sources_frames_shrink_to_the_two_resizes_pixels_bit_for_bit(sample_frames):
    for frame in sample_frames:
        assert frame.shape == (720, 1280, 3)
        for size in ((256, 144), (159, 89), (320, 180)):
            expected = two_resizes(frame, size)
            assert np.array_equal(compiled_shrink(frame, size), expected), size
            assert np.array_equal(shrink_twice_then_area(frame, size), expected), size
    # and their differences are real: the frames move
    assert cv2.absdiff(sample_frames[0], sample_frames[-1]).mean() > 5


@needs_compiled
@pytest.mark.parametrize("shape,size", CASES)
@pytest.mark.parametrize("channels", [3, 4])
def test_real_photos_at_real_sizes_shrink_bit_for_bit(shape, size, channels):
    for index in range(len(PHOTOS)):
        frame = photo(index, *shape, channels)
        expected = two_resizes(frame, size)
        assert np.array_equal(compiled_shrink(frame, size), expected), (index, shape, size, channels)


@needs_compiled
def test_random_sizes_and_ratios_shrink_bit_for_bit():
    """Ratios from just over 2 to 40 either way, widths and heights of every residue, noise (every level)."""
    rng = np.random.default_rng(17)
    for trial in range(150):
        rows, cols = int(rng.integers(5, 1300)), int(rng.integers(5, 2100))
        h, w = int(rng.integers(1, (rows - 1) // 2 + 1)), int(rng.integers(1, (cols - 1) // 2 + 1))
        channels = int(rng.choice([3, 4]))
        frame = rng.integers(0, 256, (rows, cols, channels), np.uint8)
        assert np.array_equal(compiled_shrink(frame, (w, h)), two_resizes(frame, (w, h))), \
            (trial, rows, cols, w, h, channels)


@needs_compiled
def test_extreme_levels_and_edges_shrink_bit_for_bit():
    """All 0, all 255, a checkerboard of both (the sums' widest range), and a frame just over twice the size."""
    board = (np.indices((720, 1280)).sum(axis=0) % 2 * 255).astype(np.uint8)
    for frame in (np.zeros((720, 1280, 3), np.uint8), np.full((720, 1280, 4), 255, np.uint8),
                  np.dstack([board] * 3), np.dstack([board, 255 - board, board])):
        for size in ((256, 144), (639, 359), (1, 1)):
            assert np.array_equal(compiled_shrink(frame, size), two_resizes(frame, size)), size


@needs_compiled
def test_views_shrink_as_their_copies_do():
    frame = photo(0, 720, 1280, 4)
    for view in (frame[:, ::-1], frame[::-1], frame[100:620, 33:1201], frame[..., 2::-1], frame[::2, ::2][:, ::-1]):
        assert np.array_equal(compiled_shrink(view, (200, 100)), two_resizes(np.ascontiguousarray(view), (200, 100)))
    out = np.zeros((200, 600, 3), np.uint8)[50:194, 100:356]   # a box of a bigger array as out
    compiled.shrink_twice_then_area(frame[..., :3], out)
    assert np.array_equal(out, two_resizes(frame[..., :3], (256, 144)))


def test_where_the_bilinear_step_does_not_apply_the_shared_copy_is_the_area_average():
    frame = photo(1, 300, 500)
    for size in ((256, 144), (250, 150), (300, 100)):   # not more than twice the size both ways
        expected = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        assert np.array_equal(shrink_twice_then_area(frame, size), expected), size
    grey = cv2.cvtColor(photo(0, 720, 1280), cv2.COLOR_BGR2GRAY)   # one channel: cv2's path
    assert np.array_equal(shrink_twice_then_area(grey, (256, 144)),
                          cv2.resize(cv2.resize(grey, (512, 288)), (256, 144), interpolation=cv2.INTER_AREA))


CHILD = """
import sys
import cv2, numpy as np
from portraitflow.nodes.frame_passes import compiled
from portraitflow.nodes.shared_shrink import shrink_twice_then_area
frame = cv2.imread(sys.argv[1])
expect_compiled = sys.argv[3] == "1"
assert (compiled is not None) == expect_compiled, compiled
np.savez(sys.argv[2], *[shrink_twice_then_area(f, s) for f in (frame, np.dstack([frame, frame[..., 1]]))
                        for s in ((256, 144), (159, 89), (101, 57))])
"""


@needs_compiled
def test_the_shared_copy_is_the_same_array_with_and_without_the_compiled_passes(tmp_path):
    frame_path = tmp_path / "frame.png"
    cv2.imwrite(str(frame_path), photo(0, 1080, 1920))
    both = []
    for switch in ("1", "0"):
        out = tmp_path / f"{switch}.npz"
        result = subprocess.run([sys.executable, "-c", CHILD, str(frame_path), str(out), switch],
                                env={**os.environ, SWITCH: switch}, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        both.append(np.load(out))
    assert len(both[0].files) == 6
    for name in both[0].files:
        assert np.array_equal(both[0][name], both[1][name]), name


@needs_compiled
def test_bad_arguments_name_the_argument_and_what_was_expected():
    frame = photo(0, 720, 1280)
    out = np.empty((144, 256, 3), np.uint8)
    cases = [
        (lambda: compiled.shrink_twice_then_area([[1]], out), TypeError, "frame: expected a numpy array, got list"),
        (lambda: compiled.shrink_twice_then_area(frame.astype(np.float32), out), TypeError, "frame: expected uint8"),
        (lambda: compiled.shrink_twice_then_area(frame, out.astype(np.int16)), TypeError, "out: expected uint8"),
        (lambda: compiled.shrink_twice_then_area(frame[..., 0], np.empty((144, 256), np.uint8)), ValueError, "expected 3 or 4 channels"),
        (lambda: compiled.shrink_twice_then_area(frame, np.empty((144, 256, 4), np.uint8)), ValueError,
         "the same in both, got 3 and 4"),
        (lambda: compiled.shrink_twice_then_area(frame[:288], out), ValueError,
         "frame: expected more than twice out's 144 x 256 both ways, got 288 x 1280"),
        (lambda: compiled.shrink_twice_then_area(frame, np.empty((144, 256, 3), np.uint8)[:, ::-1]), ValueError,
         "out: each row's pixels must be contiguous"),
        (lambda: compiled.shrink_twice_then_area(frame, np.empty((144, 256, 3), np.uint8)[:0]), ValueError,
         "out: expected rows x cols"),
    ]
    readonly = np.empty((144, 256, 3), np.uint8)
    readonly.flags.writeable = False
    cases.append((lambda: compiled.shrink_twice_then_area(frame, readonly), TypeError, "out: expected a writable"))
    for index, (call, error, text) in enumerate(cases):
        with pytest.raises(error, match=text.replace("(", r"\(")):
            call()
            pytest.fail(f"case {index} did not raise")
