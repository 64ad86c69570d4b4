"""The smooth node: MediaPipe's uncertainty blend on tiny masks, and on the real model with known motion.

Not for: the fringe (tests/nodes/test_fringe.py) or the metrics themselves (tests/evaluation/).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.evaluation import clips, metrics, truth
from portraitflow.graph.errors import ConfigError, ContractError
from portraitflow.graph.testing import NodeStepper, make_node, packets, run_node
from portraitflow.nodes.smooth import MaskSmoothing, SmoothOptions, TemporalSmoother, uncertainty

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mediapipe_parity"


def test_uncertainty_is_one_at_half_and_zero_when_sure():
    values = uncertainty(np.array([[0.0, 0.5, 1.0, 0.02]], np.float32))
    assert values.dtype == np.float32
    assert values[0, 1] == pytest.approx(1.0)
    assert values[0, 0] == pytest.approx(0.0, abs=1e-4) and values[0, 2] == pytest.approx(0.0, abs=1e-4)
    assert values[0, 3] < 0.2


def test_blend_on_a_4x4_mask_keeps_sure_pixels_and_pulls_unsure_ones_to_the_past():
    first = np.zeros((4, 4), np.float32)
    second = np.zeros((4, 4), np.float32)
    second[0, 0] = 1.0           # a sure change: taken as is
    second[1, 1] = 0.5           # a hesitant pixel: pulled toward the past by the ratio
    node = make_node(MaskSmoothing, {"combine_with_previous": 0.6, "motion": "none"})
    out = run_node(node, {"mask": packets([first, second])})["mask"]
    assert out[0].payload is first, "the first mask has no past: passed through, not copied"
    smoothed = out[1].payload
    assert smoothed[0, 0] == pytest.approx(1.0, abs=1e-4)   # MediaPipe's polynomial leaves 4e-5 at p = 1
    assert smoothed[1, 1] == pytest.approx(0.5 + (0.0 - 0.5) * 0.6)
    assert smoothed[2, 2] == 0.0
    assert out[1].capture_ts_ns == packets([first, second])[1].capture_ts_ns
    assert second[1, 1] == 0.5, "the received payload is not modified"


def test_zero_ratio_is_the_identity():
    masks = [np.full((4, 4), v, np.float32) for v in (0.2, 0.5, 0.7)]
    out = run_node(make_node(MaskSmoothing, {"combine_with_previous": 0.0}), {"mask": packets(masks)})
    assert [p.payload.tolist() for p in out["mask"]] == [m.tolist() for m in masks]


def test_flow_moves_the_past_with_the_content():
    """A textured square moves 3 px right; an unsure new mask must be pulled toward where the square
    is now (warped past), not where it was."""
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 255, (72, 128), dtype=np.uint8)
    texture = cv2.GaussianBlur(texture, (0, 0), 1.5)
    frames, masks = [], []
    for t in range(2):
        frame = np.full((72, 128), 128, np.uint8)
        frame[20:52, 30 + 3 * t:62 + 3 * t] = texture[20:52, 30:62]
        frames.append(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
        mask = np.zeros((72, 128), np.float32)
        mask[20:52, 30 + 3 * t:62 + 3 * t] = 1.0
        masks.append(mask)
    hesitant = np.full_like(masks[1], 0.5)      # the model has no idea in frame 1
    smoother = TemporalSmoother(SmoothOptions(combine_with_previous=1.0, motion="flow"))
    smoother(masks[0], frames[0])
    out = smoother(hesitant, frames[1])
    assert metrics.iou(out, masks[1], threshold=0.4) > metrics.iou(out, masks[0], threshold=0.4)
    assert metrics.iou(out, masks[1], threshold=0.4) > 0.8


def test_missing_frame_falls_back_to_the_plain_blend_and_is_counted():
    mask = np.full((4, 4), 0.5, np.float32)
    with NodeStepper(MaskSmoothing) as step:
        for packet in packets([mask, mask, mask]):
            step.process(mask=packet, frame=None)
    assert len(step.emitted["mask"]) == 3
    assert step.counters == {"smooth_without_motion": 2}


def test_options_are_validated_and_bad_masks_rejected():
    with pytest.raises(ConfigError, match="combine_with_previous"):
        make_node(MaskSmoothing, {"combine_with_previous": 1.5})
    with pytest.raises(ConfigError, match="motion"):
        make_node(MaskSmoothing, {"motion": "guess"})
    with pytest.raises(ContractError, match="float32"):
        TemporalSmoother()(np.zeros((4, 4), np.float64))


# --- with the real model ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def segmenter(model_cache):
    """The real landscape model from the shared model cache (tests/conftest.py)."""
    from portraitflow.models.fetch import ensure_model
    from portraitflow.models.segmenter import Segmenter
    model = ensure_model("selfie_landscape", model_cache)
    return Segmenter(model.manifest, model.onnx_path)


@pytest.fixture(scope="module")
def photo():
    return cv2.imread(str(FIXTURES / "astronaut_in_coffee_1280x720.png"))


def smooth_all(raw_masks, frames, **options):
    smoother = TemporalSmoother(SmoothOptions(**options))
    return [smoother(mask, frame) for mask, frame in zip(raw_masks, frames)]


def test_smoothing_halves_flicker_on_a_jittered_still(segmenter, photo):
    clip = clips.jittered_still(photo, n_frames=16, seed=3)
    raw = [segmenter(frame) for frame in clip.frames]
    offsets = clip.offsets_at(raw[0].shape[1], raw[0].shape[0])
    raw_flicker = metrics.temporal_flicker(raw, offsets)
    smoothed_flicker = metrics.temporal_flicker(smooth_all(raw, clip.frames), offsets)
    assert smoothed_flicker < 0.6 * raw_flicker, f"raw {raw_flicker:.4f} smoothed {smoothed_flicker:.4f}"


def test_lag_on_a_translating_clip_stays_within_one_frame(segmenter, photo):
    masks = np.load(FIXTURES / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")
    alpha = truth.detailed_truth(masks["selfie_segmentation_landscape__full"], wobble_px=0.0)
    background = cv2.imread(str(FIXTURES / "coffee_noperson_600x400.png"))
    clip = clips.translating_clip(photo, alpha, background, n_frames=12, velocity_xy=(8.0, 0.0))
    raw = [segmenter(frame) for frame in clip.frames]
    h, w = raw[0].shape
    reference = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
    offsets = clip.offsets_at(w, h)
    lag_flow = metrics.lag_in_frames(smooth_all(raw, clip.frames), reference, offsets)
    lag_plain = metrics.lag_in_frames(smooth_all(raw, clip.frames, motion="none"), reference, offsets)
    assert lag_flow <= 1.0
    assert lag_flow < lag_plain, "the flow warp is what keeps the mask on the person"
