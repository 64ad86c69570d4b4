"""The smooth node's compiled pass (nodes/smooth_pass.c) against the OpenCV and numpy path it stands for
(nodes/smooth.py's blend_moved_past and cv2.remap): the flow warps bit for bit on the sample source's frames
and the fixture photo shifted and turned, with the real DIS flow between them (and that flow made wild, so
positions fall off every edge); the smoothed masks of the real model bit for bit over a 64-frame moving
sequence, each frame's result fed to the next (the last frame checked as the first); then the node itself
through NodeHarness in child processes with PORTRAITFLOW_COMPILED=1 and =0 (first frame, carried frames, a
mask size change, frames missing); bad arguments name the argument.

Not for: the smoothing's quality (tests/nodes/test_smooth.py) or the small grey (tests/nodes/test_shrink_pass.py).
"""
from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from portraitflow.graph.testing import NodeHarness
from portraitflow.nodes.frame_passes import SWITCH, compiled
from portraitflow.nodes.segment import FrameSegmenter
from portraitflow.nodes.shared_shrink import shrink_twice_then_area
from portraitflow.nodes.smooth import SmoothOptions, blend_moved_past

from support.paths import PARITY

needs_compiled = pytest.mark.skipif(compiled is None, reason="the compiled passes are off (not built, or "
                                    "PORTRAITFLOW_COMPILED=0)")
N_FRAMES = 64
OPTIONS = SmoothOptions()


def small_grey(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The smooth node's grey: the frame's shared small copy, to grey (nodes/smooth.py)."""
    return cv2.cvtColor(shrink_twice_then_area(frame, size), cv2.COLOR_BGR2GRAY)


def dis_flow(grey: np.ndarray, previous_grey: np.ndarray) -> np.ndarray:
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc(grey, previous_grey, None)


def opencv_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def compiled_warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    out = np.full_like(image, 7)       # not zeros: an untouched pixel would show
    compiled.warp_by_flow(image, flow, out)
    return out


def compiled_step(mask, previous, previous_grey, grey, flow, options=OPTIONS) -> np.ndarray:
    out = np.full_like(mask, np.nan)
    compiled.smooth_step(mask, previous, previous_grey, grey, flow, options.combine_with_previous,
                         float(np.float32(1.0 / options.change_threshold)), out)
    return out


@pytest.fixture(scope="module")
def sample_frames() -> list[np.ndarray]:
    """The sample source's first frames: a real camera move over the bundled portrait, 1280x720."""
    packets = NodeHarness("sample_source", {"frames": N_FRAMES}).run()["frame"]
    assert len(packets) == N_FRAMES
    return [p.payload for p in packets]


@pytest.fixture(scope="module")
def real_masks(model_cache, sample_frames) -> list[np.ndarray]:
    """The real model's masks of those frames (FrameSegmenter, the segment node's own)."""
    segmenter = FrameSegmenter(cache_dir=str(model_cache))
    return [segmenter(frame)[0] for frame in sample_frames]


@pytest.fixture(scope="module")
def greys(sample_frames, real_masks) -> list[np.ndarray]:
    h, w = real_masks[0].shape
    return [small_grey(frame, (w, h)) for frame in sample_frames]


def photo_moves() -> list[tuple[np.ndarray, np.ndarray]]:
    """The fixture photo and the same photo shifted by a fraction of a pixel, turned and zoomed a little."""
    photo = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    moves = []
    for angle, scale, dx, dy in ((0.0, 1.0, 5.3, -2.7), (1.5, 1.02, -11.25, 3.5), (-3.0, 0.97, 0.4, 18.0)):
        matrix = cv2.getRotationMatrix2D((640.0, 360.0), angle, scale)
        matrix[:, 2] += (dx, dy)
        moved = cv2.warpAffine(photo, matrix, (1280, 720), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        moves.append((photo, moved))
    return moves


@needs_compiled
def test_the_warps_of_the_sample_sources_frames_are_remaps_bit_for_bit(greys, real_masks):
    compared = 0
    for t in range(1, N_FRAMES, 3):
        flow = dis_flow(greys[t], greys[t - 1])
        assert np.abs(flow).max() > 0.05, "the camera moves: the flow is not all zero"
        # the real flow, then the same made wild: positions fall off every edge by up to ~100 px
        for scale in (1.0, -7.5, 40.0):
            f = np.ascontiguousarray(flow * np.float32(scale))
            for image in (greys[t - 1], real_masks[t - 1]):
                assert np.array_equal(compiled_warp(image, f), opencv_warp(image, f)), (t, scale, image.dtype)
                compared += 1
    assert compared == len(range(1, N_FRAMES, 3)) * 3 * 2


@needs_compiled
@pytest.mark.parametrize("size", [(256, 144), (160, 96), (101, 57), (17, 9)])
def test_the_warps_of_the_photo_shifted_and_turned_are_remaps_bit_for_bit(size):
    masks = np.load(PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")
    truth = cv2.resize(masks["selfie_segmentation_landscape__full"].astype(np.float32), size,
                       interpolation=cv2.INTER_AREA)
    for before, after in photo_moves():
        previous_grey, grey = small_grey(before, size), small_grey(after, size)
        flow = dis_flow(grey, previous_grey)
        assert np.array_equal(compiled_warp(previous_grey, flow), opencv_warp(previous_grey, flow))
        assert np.array_equal(compiled_warp(truth, flow), opencv_warp(truth, flow))
        # a flow half a grid away each way: every position reads the replicated edge
        wild = np.ascontiguousarray(np.dstack([np.full(flow.shape[:2], -size[0] / 2, np.float32), flow[..., 1] * 30]))
        assert np.array_equal(compiled_warp(truth, wild), opencv_warp(truth, wild))


@needs_compiled
def test_the_smoothed_masks_of_a_moving_sequence_are_the_numpy_paths_bit_for_bit(greys, real_masks):
    """Each path's result is its own next past, as in the node: a difference could only grow; none starts."""
    compiled_past = numpy_past = real_masks[0]
    blended_pixels = given_up_pixels = 0
    worst = []
    for t in range(1, N_FRAMES):
        flow = dis_flow(greys[t], greys[t - 1])
        mask = real_masks[t]
        compiled_out = compiled_step(mask, compiled_past, greys[t - 1], greys[t], flow)
        numpy_out = blend_moved_past(mask, numpy_past, greys[t - 1], greys[t], flow, OPTIONS.combine_with_previous,
                                     OPTIONS.change_threshold)
        worst.append(float(np.abs(compiled_out - numpy_out).max()))
        assert np.array_equal(compiled_out, numpy_out), f"frame {t}: up to {worst[-1]:g} apart"
        blended_pixels += int((np.abs(compiled_out - mask) > 1e-3).sum())
        moved_grey = opencv_warp(greys[t - 1], flow)
        given_up_pixels += int((cv2.absdiff(greys[t], moved_grey) >= 2 * OPTIONS.change_threshold).sum())
        compiled_past, numpy_past = compiled_out, numpy_out
    assert worst[-1] == 0.0 and max(worst) == 0.0
    assert np.array_equal(compiled_past, numpy_past), "the last frame"
    assert blended_pixels > 1000, "the past did pull the unsure pixels: the blend was exercised"
    assert given_up_pixels > 0, "some pixels changed past the threshold: the change test was exercised"


@needs_compiled
def test_options_reach_the_pass_as_the_numpy_path_takes_them(greys, real_masks):
    flow = dis_flow(greys[10], greys[9])
    for ratio, threshold in ((0.3, 5.0), (1.0, 250.0), (0.7, 0.5)):
        options = SmoothOptions(combine_with_previous=ratio, change_threshold=threshold)
        expected = blend_moved_past(real_masks[10], real_masks[9], greys[9], greys[10], flow, ratio, threshold)
        got = compiled_step(real_masks[10], real_masks[9], greys[9], greys[10], flow, options)
        assert np.array_equal(got, expected), (ratio, threshold)


@needs_compiled
def test_masks_at_the_extremes_blend_as_numpy_does(greys):
    """0, 1, 0.5, tiny and near-one probabilities, against a past of their reverse."""
    h, w = greys[0].shape
    values = np.array([0.0, 1.0, 0.5, 1e-8, 1 - 1e-7, 0.25, 0.75, 0.4999999], np.float32)
    mask = np.resize(values, (h, w)).astype(np.float32)
    previous = np.ascontiguousarray(mask[::-1, ::-1])
    flow = dis_flow(greys[5], greys[4])
    expected = blend_moved_past(mask, previous, greys[4], greys[5], flow, 1.0, OPTIONS.change_threshold)
    assert np.array_equal(compiled_step(mask, previous, greys[4], greys[5], flow), expected)


CHILD = """
import sys
import numpy as np
from portraitflow.graph.packet import Packet
from portraitflow.graph.testing import NodeHarness
from portraitflow.nodes.frame_passes import compiled
assert (compiled is not None) == (sys.argv[3] == "1"), compiled
masks = list(np.load(sys.argv[1]).values())
frames = [p.payload for p in NodeHarness("sample_source", {"frames": len(masks)}).run()["frame"]]
start, period = 1_000_000_000, 33_333_333
mask_packets, frame_packets = [], []
for i, mask in enumerate(masks):
    if 40 <= i < 46:        # a size change for a few frames (a new model, or a resized stream), then back
        mask = np.ascontiguousarray(mask[::2, ::2])
    carried = i % 7 == 3    # the segment node skipped its model: it sent its last mask again
    payload = mask_packets[-1].payload if carried and mask_packets else mask
    mask_packets.append(Packet(payload, start + i * period, i, {"carried": carried}))
    if i not in (20, 21):   # two frames missing: the plain blend
        frame_packets.append(Packet(frames[i], start + i * period, i))
out = NodeHarness("smooth", {}).run({"mask": mask_packets, "frame": frame_packets})
np.savez(sys.argv[2], *[p.payload for p in out["mask"]])
"""


@needs_compiled
def test_the_node_gives_the_same_masks_with_and_without_the_compiled_pass(tmp_path, real_masks):
    masks_path = tmp_path / "masks.npz"
    np.savez(masks_path, *real_masks)
    both = []
    for switch in ("1", "0"):
        out = tmp_path / f"{switch}.npz"
        result = subprocess.run([sys.executable, "-c", CHILD, str(masks_path), str(out), switch],
                                env={**os.environ, SWITCH: switch}, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        loaded = np.load(out)
        both.append([loaded[name] for name in loaded.files])
    compiled_masks, numpy_masks = both
    assert len(compiled_masks) == len(numpy_masks) == N_FRAMES
    assert np.array_equal(compiled_masks[0], real_masks[0]), "the first mask has no past: passed as it is"
    assert compiled_masks[40].shape == (real_masks[0].shape[0] // 2, real_masks[0].shape[1] // 2)
    for i, (a, b) in enumerate(zip(compiled_masks, numpy_masks)):
        assert a.shape == b.shape and np.array_equal(a, b), f"frame {i}"
    changed = sum(not np.array_equal(compiled_masks[i], real_masks[i]) for i in range(1, N_FRAMES))
    assert changed > N_FRAMES // 2, "the node smoothed: its masks are not the model's"


@needs_compiled
def test_bad_arguments_name_the_argument_and_what_was_expected():
    h, w = 36, 64
    mask = np.zeros((h, w), np.float32)
    grey = np.zeros((h, w), np.uint8)
    flow = np.zeros((h, w, 2), np.float32)
    out = np.empty((h, w), np.float32)

    def step(**change):
        args = {"mask": mask, "previous": mask, "previous_grey": grey, "grey": grey, "flow": flow, "out": out,
                **change}
        compiled.smooth_step(args["mask"], args["previous"], args["previous_grey"], args["grey"], args["flow"],
                             1.0, 1 / 24, args["out"])

    readonly = np.empty((h, w), np.float32)
    readonly.flags.writeable = False
    cases = [
        (lambda: step(mask=[[0.5]]), TypeError, "mask: expected a numpy array, got list"),
        (lambda: step(mask=mask.astype(np.float64)), TypeError, "mask: expected float32"),
        (lambda: step(mask=np.zeros((h, w, 2), np.float32)), ValueError, "mask: expected a rows x cols array"),
        (lambda: step(previous=np.zeros((h, w + 1), np.float32)), ValueError, "previous: expected the size of mask"),
        (lambda: step(previous_grey=mask), TypeError, "previous_grey: expected uint8"),
        (lambda: step(grey=np.zeros((h - 1, w), np.uint8)), ValueError, "grey: expected the size of mask"),
        (lambda: step(flow=np.zeros((h, w), np.float32)), ValueError, "flow: expected 36 x 64 x 2"),
        (lambda: step(flow=np.zeros((h, w, 2), np.float64)), TypeError, "flow: expected float32"),
        (lambda: step(out=readonly), TypeError, "out: expected a writable"),
        (lambda: step(out=np.empty((h, w + 2), np.float32)), ValueError, "out: expected the size of mask"),
        (lambda: step(out=np.empty((h, 2 * w), np.float32)[:, ::2]), ValueError, "out: each row's pixels"),
        (lambda: compiled.warp_by_flow(mask.astype(np.int16), flow, out), TypeError,
         "image: expected a float32 or uint8 numpy array"),
        (lambda: compiled.warp_by_flow(grey, flow, out), TypeError, "out: expected a writable uint8 array"),
        (lambda: compiled.warp_by_flow(mask, flow[:-1], out), ValueError, "flow: expected 36 x 64 x 2"),
        (lambda: compiled.warp_by_flow(mask, flow, out[:, :-1]), ValueError, "out: expected the size of image"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message.replace("(", r"\(")):
            call()
    before = out.copy()
    with pytest.raises(ValueError):
        step(grey=np.zeros((h - 1, w), np.uint8))
    assert np.array_equal(out, before, equal_nan=True), "a refused call writes nothing"

