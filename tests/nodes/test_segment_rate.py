"""Adaptive segmentation (nodes/segment_rate.py): a still scene is segmented less, a moving one every frame,
a CPU budget lowers the segmentation rate and never the output frame rate; carried masks follow the motion.

Real models, real frames (the parity photo with sensor noise, moved), real encoded clips through the CLI.
Counts only: no timing is asserted (an unreachable budget and an unlimited one decide the same way on any
machine).
"""
from __future__ import annotations

import itertools
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.nodes.composite import Composite
from portraitflow.nodes.fringe import Fringe
from portraitflow.nodes.looks.catalogue import make_look
from portraitflow.nodes.segment import Segment
from portraitflow.nodes.smooth import MaskSmoothing

PHOTO = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_parity" / "astronaut_in_coffee_1280x720.png"


def noisy_still(n: int, seed: int = 3) -> list[np.ndarray]:
    """The same view n times with a camera's sensor noise (sigma 2 grey levels), fresh each frame."""
    photo = cv2.imread(str(PHOTO))
    rng = np.random.default_rng(seed)
    return [cv2.add(photo, rng.normal(0, 2.0, photo.shape).astype(np.int16), dtype=cv2.CV_8U) for _ in range(n)]


def moving(n: int, px_per_frame: float) -> list[np.ndarray]:
    """The photo panned sideways by ``px_per_frame`` each frame (edges replicated)."""
    photo = cv2.imread(str(PHOTO))
    h, w = photo.shape[:2]
    return [cv2.warpAffine(photo, np.float32([[1, 0, i * px_per_frame - n * px_per_frame / 2], [0, 1, 0]]),
                           (w, h), borderMode=cv2.BORDER_REPLICATE) for i in range(n)]


def centroid_x(mask: np.ndarray) -> float:
    _ys, xs = np.nonzero(mask >= 0.5)
    return float(xs.mean())


def test_a_still_scene_is_segmented_less_and_every_frame_still_gets_a_mask(model_cache):
    frames = noisy_still(24)
    result = run_node(make_node(Segment, {"still_every": 4}), {"frame": packets(frames)})
    masks = result["mask"]
    assert len(masks) == 24                                       # the output rate is the input's
    assert result.counters["segmented"] == 6                      # every 4th frame: 0, 4, 8, ...
    assert result.counters["segment_skipped_still"] == 18
    carried = [p for p in masks if p.meta.get("carried")]
    assert len(carried) == 18 and not masks[0].meta.get("carried")
    assert np.array_equal(masks[1].payload, masks[0].payload)     # the last mask, carried
    assert masks[1].payload is not masks[0].payload               # each mask is the receiver's to keep
    assert all(p.meta["model"] == "selfie_landscape" for p in masks)


def test_a_moving_scene_is_segmented_every_frame(model_cache):
    frames = moving(16, 6.0)
    result = run_node(make_node(Segment, {"still_every": 4}), {"frame": packets(frames)})
    assert len(result["mask"]) == 16
    # nothing skipped (the gate model's own reuse, carried with the motion, is its own counter)
    assert result.counters["segmented"] == 16 and set(result.counters) <= {"segmented", "gate_reused"}
    assert not any(p.meta.get("carried") for p in result["mask"])


def test_with_the_adaptive_rate_off_nothing_is_skipped_or_counted(model_cache):
    result = run_node(make_node(Segment, {"still_every": 1}), {"frame": packets(noisy_still(6))})
    # every frame segmented; only the gate model's own reuse is counted (nodes/segment.py)
    assert len(result["mask"]) == 6 and set(result.counters) <= {"gate_reused"}


def test_a_still_scene_is_segmented_less_often_by_default(model_cache):
    result = run_node(make_node(Segment), {"frame": packets(noisy_still(12))})
    assert result.counters["segmented"] == 3 and result.counters["segment_skipped_still"] == 9
    assert len(result["mask"]) == 12


def test_still_scenes_are_still_refreshed_every_max_interval(model_cache):
    result = run_node(make_node(Segment, {"still_every": 300, "max_interval": 5}),
                      {"frame": packets(noisy_still(20))})
    assert result.counters["segmented"] == 4 and len(result["mask"]) == 20


@pytest.mark.parametrize("budget, skipped", [(1.0, True), (6400.0, False)])
def test_the_budget_lowers_the_segmentation_rate_not_the_output_rate(model_cache, budget, skipped):
    # 1 % of one core at 30 fps is 0.33 ms a frame: no machine segments in that, so the interval grows;
    # 6400 % is never reached, so every frame is segmented (the moving scene: stillness skips nothing)
    frames = moving(40, 6.0)
    result = run_node(make_node(Segment, {"cpu_budget_percent": budget, "max_interval": 4}),
                      {"frame": packets(frames)})
    assert len(result["mask"]) == 40
    counters = result.counters
    if skipped:
        assert counters["segment_skipped_budget"] > 0
        assert counters["segmented"] + counters["segment_skipped_budget"] == 40
        # never a gap longer than max_interval, whatever the budget
        flags = [bool(p.meta.get("carried")) for p in result["mask"]]
        runs = "".join("c" if f else "s" for f in flags).split("s")
        assert max(len(r) for r in runs) <= 3
    else:   # nothing skipped (gate_reused counts the gate model's own reuse, not a skipped frame)
        assert counters["segmented"] == 40 and set(counters) <= {"segmented", "gate_reused"}


def test_carried_masks_follow_the_motion_through_the_smooth_node(model_cache):
    # everything counts as still (threshold 255), so only frame 0 is segmented; after it the person moves
    # 3 px a frame: the smooth node's flow moves the carried mask along with it, the raw one stays put
    frames = moving(8, 3.0)
    segmented = run_node(make_node(Segment, {"still_every": 300, "still_threshold": 255.0}),
                         {"frame": packets(frames)})
    assert segmented.counters == {"segmented": 1, "segment_skipped_still": 7}
    raw = segmented["mask"]
    smoothed = [p.payload for p in run_node(make_node(MaskSmoothing), {"mask": raw, "frame": packets(frames)})["mask"]]
    assert len(smoothed) == 8
    w = smoothed[0].shape[1]
    assert centroid_x(raw[7].payload) == centroid_x(raw[0].payload)
    moved_px = (centroid_x(smoothed[7]) - centroid_x(smoothed[0])) * 1280 / w
    assert 12.0 <= moved_px <= 30.0, moved_px       # 7 frames x 3 px = 21 px at 1280 wide


def edges(frames: list[np.ndarray], segment: dict | None = None):
    """segment -> smooth -> fringe (feather 1, as the recipes) on ``frames``: the fringe's run, with the
    segment node's counters beside its own."""
    segmented = run_node(make_node(Segment, segment or {}), {"frame": packets(frames)})
    smoothed = run_node(make_node(MaskSmoothing), {"mask": segmented["mask"], "frame": packets(frames)})["mask"]
    run = run_node(make_node(Fringe, {"feather": 1.0}), {"frame": packets(frames), "mask": smoothed})
    run.counters.update(segmented.counters)
    return run


def test_a_still_scene_reuses_its_edge_and_a_moving_one_never_does(model_cache):
    still = edges(noisy_still(12))
    assert len(still["mask"]) == 12 and still.counters["fringe_reused"] >= 6
    out = [p.payload for p in still["mask"]]
    for before, after in itertools.pairwise(out):
        assert after is not before                                   # each a new array, the receiver's
    # a reused edge is the last computed one: it was fitted to the same still view
    reused = [i for i in range(1, 12) if np.array_equal(out[i], out[i - 1])]
    assert len(reused) >= still.counters["fringe_reused"]
    fresh = edges(noisy_still(12), {"still_every": 1})
    assert "fringe_reused" not in fresh.counters                     # nothing says still: every edge made
    assert np.abs(out[-1] - fresh["mask"][-1].payload).mean() < 0.002  # the reused edge is the scene's edge


def test_a_still_scene_reuses_its_blurred_background_and_draws_the_person_fresh(model_cache):
    frames = noisy_still(12)
    masks = edges(frames)["mask"]
    out = [p.payload for p in run_node(make_node(Composite, {"look": "blur"}),
                                       {"frame": packets(frames), "mask": masks})["frame"]]
    reused = [i for i in range(1, 12) if masks[i].meta.get("edge_reused")]
    assert len(reused) >= 6
    for i in reused:
        alpha = masks[i].payload
        background, person = alpha <= 0.0, alpha >= 1.0
        assert background.mean() > 0.2 and person.mean() > 0.1
        assert np.array_equal(out[i][background], out[i - 1][background])   # the same blur, not re-made
        assert np.array_equal(out[i][person], frames[i][person])             # this frame's own person
        assert not np.array_equal(out[i][person], out[i - 1][person])        # (fresh noise: it differs)


#: every look but blur (above) with the settings that exercise its reuse: light wrap and edge colour on
LOOKS = {"replace": ("replace", {}), "colour_pop": ("replace", {"background": "greyscale"}),
         "transparent": ("replace", {"background": "transparent"}), "poster": ("poster", {}),
         "double_exposure": ("double_exposure", {}), "cutout": ("cutout", {}), "stencil": ("stencil", {})}
#: how far from the person a look's own surroundings start (px at 720p): the double exposure's silhouette
#: is feathered past the mask (its portrait reaches ~10 px out there, this frame's)
SURROUNDINGS_MARGIN = {"double_exposure": 16}


def fresh_renders(look: str, settings: dict, frames: list[np.ndarray], masks) -> list[np.ndarray]:
    """Each frame drawn by a look that is never told the scene is still: what reuse must look like."""
    drawer = make_look(look, settings)
    return [drawer.render(frame, mask.payload) for frame, mask in zip(frames, masks)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0 ** 2 / error))


@pytest.mark.parametrize("look, settings", LOOKS.values(), ids=LOOKS.keys())
def test_a_still_scene_reuses_its_edge_work_and_draws_the_person_fresh(model_cache, look, settings):
    frames = noisy_still(12)
    masks = edges(frames)["mask"]
    out = [p.payload for p in run_node(make_node(Composite, {"look": look, "settings": settings}),
                                       {"frame": packets(frames), "mask": masks})["frame"]]
    fresh = fresh_renders(look, settings, frames, masks)
    reused = [i for i in range(1, 12) if masks[i].meta.get("edge_reused")]
    assert len(reused) >= 6
    for i in range(12):
        assert all(out[i] is not out[j] for j in range(i))                  # a new array every frame
    for i in reused:
        alpha = masks[i].payload
        background, person = alpha <= 0.0, alpha >= 1.0
        margin = SURROUNDINGS_MARGIN.get(look, 0)
        if margin:
            background &= cv2.distanceTransform(background.astype(np.uint8), cv2.DIST_L2, 5) > margin
        assert background.mean() > 0.2 and person.mean() > 0.1
        if out[i].shape[2] == 4:
            # transparency: nothing there, and the rim just outside the person has the kept edge colour (a
            # straight-alpha colour further out is the frame's own, fresh, and invisible)
            assert not out[i][background][:, 3].any()
            nobody = (alpha < 0.5 / 255.0).astype(np.uint8)   # 8-bit alpha 0 (a fainter mask is rounded away)
            rim = background & (cv2.distanceTransform(nobody, cv2.DIST_L2, 5) <= 6)
            assert rim.sum() > 1000 and np.array_equal(out[i][rim], out[i - 1][rim])
        else:
            assert np.array_equal(out[i][background], out[i - 1][background])   # as the last frame
        # the person follows this frame: as a fresh render of it, within the kept edge work's noise ...
        difference = np.abs(out[i][person].astype(np.int16) - fresh[i][person])
        assert difference.mean() < 0.25 and difference.max() <= 12, (difference.mean(), difference.max())
        # ... and not the last frame's person (fresh noise: it differs)
        assert not np.array_equal(out[i][person], out[i - 1][person])
        assert psnr(out[i], fresh[i]) > 40.0                                 # looks as it did without reuse
        # the reuse happened: the kept edge colour is the last frame's noise, not this frame's (the stencil
        # keeps only what the mask alone makes: its cut and haze, so it is exactly the fresh render)
        assert np.array_equal(out[i], fresh[i]) == (look == "stencil")


@pytest.mark.parametrize("look, settings", LOOKS.values(), ids=LOOKS.keys())
def test_a_look_told_the_mask_is_new_never_reuses(model_cache, look, settings):
    # a still scene whose mask is made afresh every frame (same_mask False): each frame drawn from scratch,
    # exactly as by a look that was never told the scene is still
    frames = noisy_still(6)
    masks = edges(frames)["mask"]
    drawer = make_look(look, settings)
    drawer.scene_still = True
    for frame, mask, expected in zip(frames, masks, fresh_renders(look, settings, frames, masks)):
        assert np.array_equal(drawer.render(frame, mask.payload), expected)


def test_a_slow_pan_that_counts_as_still_still_gets_fresh_edges(model_cache):
    # 1 px a frame at 1280 wide: too little for the 64 px thumbnail (the segment node carries masks as
    # still), but the smooth node's flow moves the mask, so the fringe makes each edge afresh
    frames = moving(10, 1.0)
    run = edges(frames, {"still_threshold": 255.0, "still_every": 4})
    assert run.counters["segment_skipped_still"] >= 6                # the masks were carried as still
    assert run.counters.get("fringe_reused", 0) == 0
    assert len(run["mask"]) == 10


def write_person_clip(path: Path, frames: list[np.ndarray], fps: int = 30) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "bf": "0"})
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="bgr24")
            video_frame.pts, video_frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_cli_cpu_budget_keeps_every_frame_and_says_what_it_skipped(model_cache, tmp_path):
    clip = write_person_clip(tmp_path / "in.mp4", [cv2.resize(f, (640, 360)) for f in moving(45, 4.0)])
    out = tmp_path / "out.mp4"
    proc = subprocess.run([sys.executable, "-m", "portraitflow", "run", "--input", str(clip), "--output", str(out),
                           "--cpu-budget", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "segment_skipped_budget=" in proc.stdout + proc.stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 45


def test_cli_cpu_budget_needs_a_segment_node(tmp_path):
    graph = tmp_path / "g.toml"
    graph.write_text('[nodes.capture]\ntype = "sample_source"\noptions = { frames = 2 }\n'
                     '[nodes.output]\ntype = "null_sink"\ninputs = { frame = "capture.frame" }\n')
    proc = subprocess.run([sys.executable, "-m", "portraitflow", "run", "--graph", str(graph), "--cpu-budget", "50"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "--cpu-budget" in proc.stderr and "no segment node" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
