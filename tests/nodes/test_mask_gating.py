"""Two-model gating and frame-edge handling on real frames with the real models: a person pasted over
a wooden table (known truth) loses false positives, the gate model's own rate, the 16:9 letterbox,
and the border bands of nodes/frame_edge.py.

Not for: the fringe's upsampling (test_fringe.py) or MediaPipe parity of one model (test_segment.py).
"""
from __future__ import annotations

import cv2
import numpy as np

from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.nodes.frame_edge import extend_bottom, harden_borders
from portraitflow.nodes.gate_carry import RISE_FLOOR
from portraitflow.nodes.mask_gating import MaskGate
from portraitflow.nodes.segment import FrameSegmenter, Segment

from support.paths import PARITY


def person_over_the_table(width: int = 600, height: int = 400, x0: int | None = None):
    """The camera_512 photographer (truth: MediaPipe's mask hardened at 0.5) pasted at the bottom right of
    the coffee photo, a cup on a grained wooden table that both models partly take for a person."""
    table = cv2.resize(cv2.imread(str(PARITY / "coffee_noperson_600x400.png")), (width, height))
    person = cv2.imread(str(PARITY / "camera_512.png"))
    alpha = (np.load(PARITY / "camera_512.mediapipe_masks.npz")["selfie_segmentation__full"] > 0.5)
    size = int(min(width, height) * 0.7)
    person = cv2.resize(person, (size, size), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha.astype(np.float32), (size, size), interpolation=cv2.INTER_NEAREST)
    x0 = width - size if x0 is None else x0
    frame, truth = table.copy(), np.zeros((height, width), np.float32)
    roi = frame[height - size:, x0:x0 + size]
    roi[:] = (person * alpha[..., None] + roi * (1 - alpha[..., None])).astype(np.uint8)
    truth[height - size:, x0:x0 + size] = alpha
    return frame, truth


def errors(mask: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """(false-positive share of the background, missed share of the person, IoU) at 0.5."""
    full = cv2.resize(mask, (truth.shape[1], truth.shape[0]), interpolation=cv2.INTER_LINEAR) >= 0.5
    person = truth >= 0.5
    false_positive = float((full & ~person).sum() / (~person).sum())
    missed = float((~full & person).sum() / person.sum())
    iou = float((full & person).sum() / (full | person).sum())
    return false_positive, missed, iou


def test_gate_lowers_false_positives_on_a_person_over_a_wooden_table(model_cache):
    frame, truth = person_over_the_table()
    plain, model, _ = FrameSegmenter(gate_model="none", frame_edges="keep")(frame)
    gated, gated_model, gate = FrameSegmenter(frame_edges="keep")(frame)
    assert (model, gated_model, gate) == ("selfie_landscape", "selfie_landscape", "selfie_general")
    fp_plain, missed_plain, iou_plain = errors(plain, truth)
    fp_gated, missed_gated, iou_gated = errors(gated, truth)
    assert fp_plain > 0.15, "the table must fool the primary model, or this case tests nothing"
    assert fp_gated < 0.8 * fp_plain
    assert missed_gated < missed_plain + 0.01   # the person is kept
    assert iou_gated > iou_plain + 0.03


def test_gate_keeps_the_primary_mask_where_the_second_model_agrees():
    yy, xx = np.mgrid[0:144, 0:256].astype(np.float32)
    primary = np.clip((40.0 - np.hypot(xx - 128, yy - 72)) / 6.0 + 0.5, 0, 1).astype(np.float32)   # soft disc
    secondary = (np.hypot(xx - 128, yy - 72) < 38.0).astype(np.float32)   # a slightly tighter hard disc
    stray = primary.copy()
    stray[100:130, 10:40] = 0.9                                            # a false positive far away
    gated = MaskGate(dilate_px=3)(stray, secondary)
    radius = np.hypot(xx - 128, yy - 72)
    assert np.abs(gated - primary)[radius < 38].max() < 0.03      # inside the second model's person: kept
    band = (radius >= 38) & (radius < 41)                           # the primary's soft edge past it
    assert (gated[band] / primary[band]).mean() > 0.5               # the gate's reach keeps the soft edge
    assert np.minimum(stray, secondary)[band].max() == 0.0          # where a plain minimum erodes it
    assert gated[100:130, 10:40].max() < 0.01                       # the stray patch is gone


def noisy_stills(count: int) -> list[np.ndarray]:
    """The photographer still, with fresh sensor noise on every frame (a still scene as a camera sees it)."""
    frame = cv2.imread(str(PARITY / "camera_512.png"))
    rng = np.random.default_rng(3)
    return [cv2.add(frame, rng.normal(0, 2.0, frame.shape).astype(np.int16), dtype=cv2.CV_8U)
            for _ in range(count)]


def gated_with_runs(segmenter: FrameSegmenter, frames: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """Each frame's gated mask, and how often the gate model had run after it."""
    outputs, runs = [], []
    for f in frames:
        outputs.append(segmenter(f)[0])
        runs.append(segmenter.gate_runs)
    return outputs, runs


def test_a_gate_that_still_fits_is_reused_for_gate_every_frames(model_cache):
    """A still scene (the photographer, fresh sensor noise on every frame): the gate model runs on the
    first frame, its mask gates the next gate_every - 1 frames, then it runs again; a reused gate gives
    what that gate gives on the frame's own primary mask (the default carry, "fit")."""
    frames = noisy_stills(7)
    outputs, runs = gated_with_runs(FrameSegmenter(gate_every=3, frame_edges="keep"), frames)
    assert runs == [1, 1, 1, 2, 2, 2, 3]
    primary = FrameSegmenter(gate_model="none", frame_edges="keep").segmenter("selfie_general")
    first_gate = FrameSegmenter(frame_edges="keep")._gate_mask("selfie_landscape", frames[0])
    np.testing.assert_allclose(outputs[2], MaskGate()(primary(frames[2]), first_gate), atol=1e-6)


def test_a_gate_that_follows_is_carried_once_two_fresh_ones_agreed(model_cache):
    """A still scene (the photographer, fresh sensor noise on every frame): the gate model runs on the
    first two frames (a new scene: a gate is carried once two fresh ones agreed, first for one frame,
    then for up to gate_every - 1), its second mask gates frame 2, it runs again on frame 3 and then
    gates the next gate_every - 1 frames; a reused gate gives
    what that gate gives on the frame's own primary mask, except where that mask rose past the noise
    (there a carried gate may only open further: nodes/gate_carry.py)."""
    frames = noisy_stills(7)
    outputs, runs = gated_with_runs(FrameSegmenter(gate_every=3, frame_edges="keep", gate_carry="follow"), frames)
    assert runs == [1, 2, 2, 3, 3, 3, 4]
    primary = FrameSegmenter(gate_model="none", frame_edges="keep").segmenter("selfie_general")
    carried_gate = FrameSegmenter(frame_edges="keep")._gate_mask("selfie_landscape", frames[1])
    expected = MaskGate()(primary(frames[2]), carried_gate)
    rose = primary(frames[2]) - primary(frames[1]) > RISE_FLOOR
    np.testing.assert_allclose(outputs[2][~rose], expected[~rose], atol=1e-6)
    assert np.all(outputs[2][rose] >= expected[rose] - 1e-6)


def test_a_moving_person_gets_a_fresh_gate_at_once(model_cache):
    """The person jumps across the table between two frames: the old gate would cut them, so the gate
    model runs on that very frame, and the mask equals a fresh gate's, whatever gate_every says."""
    first, _ = person_over_the_table(x0=0)
    second, truth = person_over_the_table()
    segmenter = FrameSegmenter(gate_every=8, frame_edges="keep")
    segmenter(first)
    moved = segmenter(second)[0]
    assert segmenter.gate_runs == 2
    fresh = FrameSegmenter(frame_edges="keep")(second)[0]
    np.testing.assert_allclose(moved, fresh, atol=1e-6)
    assert errors(moved, truth)[1] < 0.05   # the person is kept


def test_segment_node_gates_by_default_and_names_both_models(model_cache):
    frame, _ = person_over_the_table()
    out = run_node(make_node(Segment), {"frame": packets([frame])})["mask"][0]
    assert out.meta["model"] == "selfie_landscape" and out.meta["gated_by"] == "selfie_general"
    named = run_node(make_node(Segment, {"model": "selfie_landscape"}), {"frame": packets([frame])})["mask"][0]
    assert named.meta["gated_by"] is None     # a named model keeps its own mask (MediaPipe parity)


def test_a_wide_frame_is_letterboxed_for_the_square_gate_model(model_cache):
    """The 1280x720 astronaut: squashed into 256x256 the square model loses much of the suit and its
    gate cut the person; letterboxed, the gated mask keeps what the landscape model found."""
    frame = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    reference = np.load(PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")[
        "selfie_segmentation_landscape__full"]
    gated = cv2.resize(FrameSegmenter(frame_edges="keep")(frame)[0], (1280, 720))
    segmenter = FrameSegmenter(gate_model="none", frame_edges="keep")
    squashed = MaskGate()(segmenter.segmenter("selfie_landscape")(frame), segmenter.segmenter("selfie_general")(frame))
    suit = reference > 0.9
    suit[:300] = False          # the body, below the head
    kept = float((gated[suit] >= 0.5).mean())
    kept_squashed = float((cv2.resize(squashed, (1280, 720))[suit] >= 0.5).mean())
    assert kept > 0.9 and kept > kept_squashed + 0.1


def test_frame_edge_bands():
    mask = np.zeros((100, 80), np.float32)
    mask[40:, 20:60] = 1.0
    mask[95:, 20:60] = 0.35                      # the model's confidence sags at the bottom border
    extended = extend_bottom(mask)
    assert extended[95:, 20:60].min() == 1.0
    assert extended[:, :20].max() == 0.0 and extended[:, 60:].max() == 0.0   # background stays background
    soft = np.full((100, 80), 0.3, np.float32)
    hardened = harden_borders(soft)
    assert hardened[0, 40] == 0.0                                  # 0.5 - 0.2 * gain 4, clipped
    assert abs(hardened[50, 40] - 0.3) < 1e-6                      # the middle untouched
    assert np.all(np.diff(hardened[:50, 40]) >= -1e-6)             # monotone towards the middle
