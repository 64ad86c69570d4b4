"""The carried gate (nodes/gate_carry.py) on real frames with the real models: a person walking across
a real wooden table keeps the gate carried and close to a fresh gate every frame; a false positive that
appears mid-clip is gated on the frame it appears; a cut gets a fresh gate on its first frame.

Not for: the gate itself (test_mask_gating.py) or the segment node's rate (test_segment_rate.py).
Scenes: the camera_512 photographer (truth: MediaPipe's mask hardened at 0.5) cut out and moved 4 px a
frame over 1280x720 backgrounds made from the coffee photo: its grained wood (no false positive), then
its cup and saucer, which the primary model takes for part of the person beside it.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.evaluation import clips
from portraitflow.nodes.segment import FrameSegmenter

from support.paths import PARITY

W, H = 1280, 720
SPEED = (4.0, 0.0)   # px a frame: a person walking slowly across a 720p frame


def photographer_on_canvas(x0: int = 100, size: int = 520) -> tuple[np.ndarray, np.ndarray]:
    """The photographer standing at the bottom of a 1280x720 canvas, and their true mask."""
    person = cv2.resize(cv2.imread(str(PARITY / "camera_512.png")), (size, size), interpolation=cv2.INTER_AREA)
    alpha = (np.load(PARITY / "camera_512.mediapipe_masks.npz")["selfie_segmentation__full"] > 0.5)
    alpha = cv2.resize(alpha.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    image, truth = np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.float32)
    image[H - size:, x0:x0 + size] = person
    truth[H - size:, x0:x0 + size] = alpha
    return image, truth


def coffee_backgrounds() -> tuple[np.ndarray, np.ndarray]:
    """(plain wood: the table's grain from the photo's bottom-left corner, the wood with the cup and
    saucer in its right half), both 1280x720."""
    coffee = cv2.imread(str(PARITY / "coffee_noperson_600x400.png"))
    wood = cv2.resize(coffee[250:, :120], (W, H), interpolation=cv2.INTER_CUBIC)
    with_cup = wood.copy()
    with_cup[:, 700:] = cv2.resize(coffee, (W, H), interpolation=cv2.INTER_CUBIC)[:, 700:]
    return wood, with_cup


def small(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return cv2.resize(mask, (like.shape[1], like.shape[0]), interpolation=cv2.INTER_AREA)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference in thousandths."""
    return 1000.0 * float(np.abs(a - b).mean())


@pytest.fixture(scope="module")
def walk():
    image, truth = photographer_on_canvas()
    wood, with_cup = coffee_backgrounds()
    on_wood = clips.translating_clip(image, truth, wood, n_frames=40, velocity_xy=SPEED, seed=1)
    by_the_cup = clips.translating_clip(image, truth, with_cup, n_frames=40, velocity_xy=SPEED, seed=1)
    return on_wood, by_the_cup


def test_a_walking_person_keeps_the_gate_carried_and_close_to_a_fresh_one(model_cache, walk):
    on_wood, _ = walk
    fresh, carried = FrameSegmenter(gate_every=1), FrameSegmenter(gate_carry="follow")
    differences, error_fresh, error_carried = [], [], []
    for frame, truth in zip(on_wood.frames, on_wood.truth_masks):
        a, b = fresh(frame)[0], carried(frame)[0]
        differences.append(mad(a, b))
        error_fresh.append(mad(a, small(truth, a)))
        error_carried.append(mad(b, small(truth, b)))
    assert fresh.gate_runs == 40
    assert carried.gate_runs <= 40 // 3          # the gate model on at most a third of the frames
    assert max(differences) < 10.0               # every frame within 10 thousandths of a fresh gate
    assert np.mean(error_carried) <= np.mean(error_fresh) + 0.5   # and as close to the truth


def test_a_false_positive_appearing_mid_clip_is_gated_on_the_frame_it_appears(model_cache, walk):
    """From frame 20 the cup and saucer appear beside the walking person; the primary model alone keeps
    several times more of the background from then on. The carried chain runs the gate model on that
    very frame and keeps no more of the background than a fresh gate every frame does (N = 0 frames)."""
    on_wood, by_the_cup = walk
    appears = 20
    frames = on_wood.frames[:appears] + by_the_cup.frames[appears:]
    fresh, carried = FrameSegmenter(gate_every=1), FrameSegmenter(gate_carry="follow")
    ungated = FrameSegmenter(gate_model="none")
    kept = []   # share of the true background kept as person: (ungated, fresh gate, carried gate)
    runs = []
    for frame, truth in zip(frames, on_wood.truth_masks):
        masks = ungated(frame)[0], fresh(frame)[0], carried(frame)[0]
        background = small(truth, masks[0]) < 0.5
        kept.append([float(m[background].mean()) for m in masks])
        runs.append(carried.gate_runs)
    kept = np.array(kept)
    assert kept[appears, 0] > 3 * kept[appears - 1, 0], "the cup must fool the primary, or this tests nothing"
    assert kept[appears, 0] > 1.4 * kept[appears, 1], "and the gate must take some of it out"
    assert runs[appears] == runs[appears - 1] + 1                    # the gate model ran on that frame
    assert kept[appears, 2] == pytest.approx(kept[appears, 1], abs=1e-6)
    assert np.all(kept[appears:, 2] <= kept[appears:, 1] + 0.005)     # and no frame after keeps more


def test_a_cut_gets_a_fresh_gate_on_its_first_frame(model_cache, walk):
    """Ten frames of the walk, then a cut to the astronaut: the gate model runs on the cut's first
    frame, whose mask is then exactly a fresh gate's, and gates are carried again only once fresh ones
    agree (the next frame is fresh too)."""
    on_wood, _ = walk
    astronaut = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    frames = on_wood.frames[:10] + [astronaut, astronaut.copy()]
    carried = FrameSegmenter(gate_carry="follow")
    runs = []
    for frame in frames[:10]:
        carried(frame)
        runs.append(carried.gate_runs)
    assert runs[-1] < 10                                              # carried before the cut
    after_cut = carried(frames[10])[0]
    assert carried.gate_runs == runs[-1] + 1
    np.testing.assert_allclose(after_cut, FrameSegmenter(gate_every=1)(frames[10])[0], atol=1e-6)
    carried(frames[11])
    assert carried.gate_runs == runs[-1] + 2


def test_the_default_carry_keeps_a_walking_person_closer_to_a_fresh_gate(model_cache, walk):
    """gate_carry "fit" (the default): a gate is carried only while the mask barely changed, so the
    walking person's mask stays closer to a fresh gate's than the following carry's, for more gate runs."""
    on_wood, _ = walk
    fresh, fitting, following = (FrameSegmenter(gate_every=1), FrameSegmenter(),
                                 FrameSegmenter(gate_carry="follow"))
    fit_differences, follow_differences = [], []
    for frame in on_wood.frames:
        a = fresh(frame)[0]
        fit_differences.append(mad(a, fitting(frame)[0]))
        follow_differences.append(mad(a, following(frame)[0]))
    assert fitting.gate_runs > following.gate_runs
    assert np.mean(fit_differences) < np.mean(follow_differences)
    assert max(fit_differences) < 3.0             # every frame within 3 thousandths of a fresh gate


def test_the_segment_node_follows_under_a_cpu_budget_only():
    from portraitflow.graph.testing import make_node
    from portraitflow.nodes.segment import Segment

    assert make_node(Segment).gate_carry_mode() == "fit"
    assert make_node(Segment, {"cpu_budget_percent": 40}).gate_carry_mode() == "follow"
    assert make_node(Segment, {"cpu_budget_percent": 40, "gate_carry": "fit"}).gate_carry_mode() == "fit"
    assert make_node(Segment, {"gate_carry": "follow"}).gate_carry_mode() == "follow"
