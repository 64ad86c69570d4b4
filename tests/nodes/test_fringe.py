"""The fringe node and its parts on the real fixture photos: edges that follow the image, options, styles.

Not for: the model (the model-size MediaPipe masks stand in for it) or the composite.

Ground truth (evaluation/truth.py): the MediaPipe masks are bilinear upscales, so scoring against them
would reward bilinear by construction. Instead each photo's person is pasted with a constructed hard mask
(its boundary wobbled by a few px, finer than the model grid) over another photo; that mask is the truth.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.evaluation import clips, metrics, truth
from portraitflow.graph.errors import ConfigError, ContractError
from portraitflow.graph.testing import NodeStepper, make_node, packets, run_node
from portraitflow.nodes.default_chain import refine_still
from portraitflow.nodes.fringe import EdgeRefiner, Fringe, FringeOptions
from portraitflow.nodes.guided_upsample import GuidedUpsampler, bilinear_upsample
from portraitflow.nodes.light_wrap import light_wrap

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mediapipe_parity"
PHOTOS = {"astronaut_512": "selfie_segmentation", "camera_512": "selfie_segmentation",
          "astronaut_in_coffee_1280x720": "selfie_segmentation_landscape"}


def load(name: str) -> tuple[np.ndarray, np.lib.npyio.NpzFile]:
    return cv2.imread(str(FIXTURES / f"{name}.png")), np.load(FIXTURES / f"{name}.mediapipe_masks.npz")


def composite_case(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(composite frame, true mask, MediaPipe model-size mask) for one fixture photo."""
    photo, masks = load(name)
    model = PHOTOS[name]
    true_mask = truth.detailed_truth(masks[f"{model}__full"], seed=1)
    background = cv2.imread(str(FIXTURES / "coffee_noperson_600x400.png"))
    return clips.composite_with_truth(photo, true_mask, background), true_mask, masks[f"{model}__modelsize"]


@pytest.fixture(scope="module")
def astronaut():
    photo, masks = load("astronaut_512")
    return photo, masks["selfie_segmentation__modelsize"]


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_fringe_beats_bilinear_boundary_f_given_an_ideal_low_res_mask(name):
    frame, true_mask, model_size = composite_case(name)
    ideal = cv2.resize(true_mask, model_size.shape[::-1], interpolation=cv2.INTER_AREA)
    h, w = frame.shape[:2]
    raw = metrics.boundary_f(bilinear_upsample(ideal, h, w), true_mask)
    fringed = metrics.boundary_f(refine_still(frame, ideal), true_mask)
    assert fringed > raw, f"{name}: fringe {fringed:.3f} vs bilinear {raw:.3f}"


def test_fringe_beats_bilinear_boundary_f_on_mediapipe_masks_on_average():
    raws, fringes = [], []
    for name in sorted(PHOTOS):
        frame, true_mask, model_size = composite_case(name)
        h, w = frame.shape[:2]
        raws.append(metrics.boundary_f(bilinear_upsample(model_size, h, w), true_mask))
        fringes.append(metrics.boundary_f(refine_still(frame, model_size), true_mask))
    assert np.mean(fringes) > np.mean(raws) + 0.01, f"fringe {fringes} vs bilinear {raws}"


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_the_guided_apply_is_the_fast_guided_filter_formula(name):
    """b is grown straight into the result and a * I made in a's buffer, or all of it in one compiled pass
    (nodes/frame_passes.c): still clip(a_up * I + b_up) of the grid's coefficients, at the photo's size and
    others, and frame after frame on reused buffers. Within 1e-4 (a fortieth of a level of 255): the compiled
    pass grows a and b's rows itself, and cv2.resize's own float rounding is not quite the textbook's."""
    photo, masks = load(name)
    model_mask = masks[f"{PHOTOS[name]}__modelsize"]
    upsampler = GuidedUpsampler()
    for frame in (photo, composite_case(name)[0], cv2.resize(photo, (600, 800)), photo):
        h, w = frame.shape[:2]
        got = upsampler(frame, model_mask)
        mean_a, mean_b, _ = upsampler.coefficients(frame, model_mask)
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
        whole = np.clip(cv2.resize(mean_a, (w, h)) * grey + cv2.resize(mean_b, (w, h)), 0.0, 1.0)
        assert got.dtype == np.float32 and np.allclose(got, whole, rtol=0, atol=1e-4), f"{name} at {w}x{h}"


def test_node_emits_a_frame_size_mask_with_the_frame_timestamp_and_keeps_inputs(astronaut):
    photo, model_mask = astronaut
    photo_before, mask_before = photo.copy(), model_mask.copy()
    out = run_node(make_node(Fringe), {"frame": packets([photo]), "mask": packets([model_mask])})
    (packet,) = out["mask"]
    assert packet.payload.shape == photo.shape[:2] and packet.payload.dtype == np.float32
    assert 0.0 <= packet.payload.min() and packet.payload.max() <= 1.0
    assert packet.capture_ts_ns == packets([photo])[0].capture_ts_ns
    assert np.array_equal(photo, photo_before) and np.array_equal(model_mask, mask_before)
    assert metrics.iou(packet.payload, bilinear_upsample(model_mask, 512, 512)) > 0.95


def test_options_changed_while_running_take_effect_on_the_next_frame(astronaut):
    """The runner swaps options between packets (a recipe switched live): the new style must show."""
    photo, model_mask = astronaut
    with NodeStepper(Fringe) as step:
        for i, frame_packet in enumerate(packets([photo, photo])):
            if i == 1:
                step.set_options(style="glow", style_width=24.0)
            step.process(frame=frame_packet, mask=frame_packet.derive(model_mask))
    soft, glow = (p.payload for p in step.emitted["mask"])
    expected = EdgeRefiner(FringeOptions(style="glow", style_width=24.0)).refine(photo, model_mask)
    assert np.array_equal(glow, expected)
    assert float(glow.sum()) > float(soft.sum())          # a glow adds coverage around the edge


def test_missing_mask_emits_nothing_and_is_counted(astronaut):
    photo, model_mask = astronaut
    frames = packets([photo, photo, photo])
    masks = [frames[0].derive(model_mask), frames[2].derive(model_mask)]   # the middle one never came
    with NodeStepper(Fringe) as step:
        for frame_packet, mask_packet in zip(frames, [masks[0], None, masks[1]]):
            step.process(frame=frame_packet, mask=mask_packet)
    assert [p.seq for p in step.emitted["mask"]] == [0, 2]
    assert step.counters == {"mask_missing": 1}


def test_spread_grows_and_choke_shrinks_by_about_the_asked_width(astronaut):
    photo, model_mask = astronaut
    area = {s: float((EdgeRefiner(FringeOptions(spread=s)).refine(photo, model_mask) >= 0.5).sum())
            for s in (-4.0, 0.0, 4.0)}
    base = EdgeRefiner(FringeOptions()).refine(photo, model_mask)
    perimeter = np.count_nonzero(metrics.boundary(base))
    assert area[-4.0] < area[0.0] < area[4.0]
    # the area changes by about width x perimeter (the ellipse rounds corners: allow a wide band)
    assert 2 * perimeter < area[4.0] - area[0.0] < 6 * perimeter
    assert 2 * perimeter < area[0.0] - area[-4.0] < 6 * perimeter


def test_feather_widens_the_soft_band(astronaut):
    photo, model_mask = astronaut

    def soft_pixels(mask):
        return np.count_nonzero((mask > 0.05) & (mask < 0.95))

    sharp = EdgeRefiner(FringeOptions()).refine(photo, model_mask)
    soft = EdgeRefiner(FringeOptions(feather=6.0)).refine(photo, model_mask)
    assert soft_pixels(soft) > 1.5 * soft_pixels(sharp)
    assert metrics.iou(soft, sharp) > 0.97          # softer, not moved


@pytest.mark.parametrize("style", ["glow", "spray", "halftone"])
def test_styles_add_coverage_outside_only_and_stay_still_between_frames(astronaut, style):
    photo, model_mask = astronaut
    soft = EdgeRefiner(FringeOptions()).refine(photo, model_mask)
    refiner = EdgeRefiner(FringeOptions(style=style, style_width=16.0))
    styled = refiner.refine(photo, model_mask)
    inside = soft >= 0.5
    if style == "glow":
        assert np.all(styled >= soft), "glow only adds light"
    else:
        assert np.array_equal(styled[inside], soft[inside]), "the person stays as it was"
    ring = (~inside) & (cv2.dilate(inside.astype(np.uint8), np.ones((17, 17), np.uint8)) > 0)
    assert styled[ring].sum() > soft[ring].sum() * 1.2, "the style should add coverage outside the edge"
    far = cv2.dilate((soft > 0.05).astype(np.uint8), np.ones((101, 101), np.uint8)) == 0
    assert styled[far].max(initial=0.0) < 0.05, "nothing far from the person"
    if style in ("spray", "halftone"):
        outside_values = np.unique(styled[~inside])
        assert set(outside_values.tolist()) <= {0.0, 1.0}, "stencil styles are binary outside"
        assert np.array_equal(styled, refiner.refine(photo, model_mask)), "the pattern must not boil"


def test_bad_options_name_the_field():
    with pytest.raises(ConfigError, match="style"):
        make_node(Fringe, {"style": "neon"})
    with pytest.raises(ConfigError, match="feather"):
        make_node(Fringe, {"feather": -1})


def test_wrong_payloads_raise_contract_errors_naming_the_input(astronaut):
    photo, model_mask = astronaut
    with pytest.raises(ContractError, match="frame must be uint8"):
        refine_still(photo.astype(np.float32), model_mask)
    with pytest.raises(ContractError, match="mask must be float32"):
        refine_still(photo, model_mask.astype(np.float64))


def test_light_wrap_tints_only_the_person_rim(astronaut):
    photo, model_mask = astronaut
    mask = refine_still(photo, model_mask)
    background = np.zeros_like(photo)
    background[:] = (255, 0, 255)        # magenta light
    wrapped = light_wrap(photo, background, mask, width_px=12, strength=0.6)
    assert wrapped.shape == photo.shape and wrapped.dtype == np.uint8
    change = np.abs(wrapped.astype(np.int16) - photo.astype(np.int16)).sum(axis=2)
    person = mask >= 0.5
    rim = person & (cv2.erode(person.astype(np.uint8), np.ones((9, 9), np.uint8)) == 0)
    core = cv2.erode(person.astype(np.uint8), np.ones((61, 61), np.uint8)) > 0
    assert change[rim].mean() > 20
    assert change[core].mean() < 1
    assert change[mask == 0].max(initial=0) == 0, "the background side stays the background"
    with pytest.raises(ContractError, match="sizes differ"):
        light_wrap(photo, background[:100], mask)
