"""The composite node: every look on the fixture photos with MediaPipe's reference masks, and
fail-closed behaviour when the mask is withheld or too old."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.graph import ConfigError, Packet
from portraitflow.graph.testing import NodeStepper, make_node, packets, run_node
from portraitflow.nodes.composite import Composite

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_parity"
PHOTOS = ["astronaut_512", "camera_512", "astronaut_in_coffee_1280x720"]
LOOKS = ["blur", "replace", "poster", "double_exposure", "stencil"]
HIDING = [("blur", {}), ("replace", {}), ("replace", {"background": "#204060"})]
#: how much of the person's light and shade must survive: double exposure deliberately pours a
#: landscape into the silhouette, so less of the portrait remains there
MIN_LUMA_CORRELATION = {"double_exposure": 0.35}


def photo(name: str) -> tuple[np.ndarray, np.ndarray]:
    frame = cv2.imread(str(FIXTURES / f"{name}.png"), cv2.IMREAD_COLOR)
    mask = np.load(FIXTURES / f"{name}.mediapipe_masks.npz")["selfie_segmentation__full"]
    return frame, mask


def composite(look: str, frame: np.ndarray, mask: np.ndarray | None, **settings) -> tuple[np.ndarray, None]:
    node = make_node(Composite, {"look": look, "settings": settings}, "composite")
    inputs = {"frame": packets([frame])}
    if mask is not None:
        inputs["mask"] = packets([mask])
    out = run_node(node, inputs)["frame"]
    assert len(out) == 1
    return out[0].payload, None


def mean_abs(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    diff = np.abs(a[..., :3].astype(np.int16) - b.astype(np.int16)).mean(axis=2)
    return float(diff[where].mean())


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("look", LOOKS)
def test_every_look_changes_the_background_and_keeps_the_person(look: str, name: str) -> None:
    frame, mask = photo(name)
    before = frame.copy()
    out, _ = composite(look, frame, mask)
    assert out.dtype == np.uint8 and out.shape[:2] == frame.shape[:2]
    assert np.array_equal(frame, before), "the input frame must not be modified"
    background, person = mask < 0.05, mask > 0.95
    assert mean_abs(out, frame, background) > 8.0
    # recognisable: the person's light and shade survive (correlation of luma inside the mask); the
    # double exposure fills the body with its landscape by design and promises a readable head
    if look == "double_exposure":
        rows = np.flatnonzero(person.any(axis=1))
        person = person & (np.arange(mask.shape[0])[:, None] < rows[0] + 0.4 * (rows[-1] - rows[0]))
    luma_in = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[person].astype(np.float32)
    luma_out = cv2.cvtColor(out[..., :3], cv2.COLOR_BGR2GRAY)[person].astype(np.float32)
    assert np.corrcoef(luma_in, luma_out)[0, 1] > MIN_LUMA_CORRELATION.get(look, 0.5)


@pytest.mark.parametrize("look,settings", HIDING + [("replace", {"background": "greyscale"})])
@pytest.mark.parametrize("name", PHOTOS)
def test_hiding_looks_keep_the_person_close_to_the_input(look: str, settings: dict, name: str) -> None:
    frame, mask = photo(name)
    out, _ = composite(look, frame, mask, **settings)
    core = cv2.erode((mask > 0.98).astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    assert mean_abs(out, frame, core) < 3.0


def test_blur_has_no_halo_of_person_colour() -> None:
    """Just outside the person the blur must look like the background, not the orange suit."""
    frame, mask = photo("astronaut_512")
    out, _ = composite("blur", frame, mask)
    plain = cv2.blur(frame, (31, 31))   # a naive blur smears the person outwards
    ring = (cv2.dilate((mask > 0.5).astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
            & (mask < 0.05))
    suit = frame[mask > 0.95].mean(axis=0)
    to_suit_ours = np.linalg.norm(out[ring].astype(np.float32) - suit, axis=1).mean()
    to_suit_naive = np.linalg.norm(plain[ring].astype(np.float32) - suit, axis=1).mean()
    assert to_suit_ours > to_suit_naive + 5.0


@pytest.mark.parametrize("look,settings", HIDING)
def test_fail_closed_without_mask_never_shows_the_raw_background(look: str, settings: dict) -> None:
    frame, mask = photo("astronaut_in_coffee_1280x720")
    node = make_node(Composite, {"look": look, "settings": settings}, "composite")
    out = run_node(node, {"frame": packets([frame, frame, frame])})["frame"]   # no mask at all
    background = mask < 0.05
    assert len(out) == 3
    for packet in out:
        # a blur leaves a few flat patches equal to themselves; the frame as a whole must differ
        same = np.all(packet.payload[..., :3] == frame, axis=2)
        assert same[background].mean() < 0.2
        assert mean_abs(packet.payload, frame, background) > 3.0


def test_colour_pop_without_mask_is_all_grey() -> None:
    frame, _ = photo("astronaut_512")
    node = make_node(Composite, {"look": "replace", "settings": {"background": "greyscale"}}, "composite")
    out = run_node(node, {"frame": packets([frame])})["frame"][0].payload
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_fail_closed_is_counted_and_a_too_old_mask_counts_as_missing() -> None:
    frame, mask = photo("astronaut_512")
    t0 = 5_000_000_000
    fresh = Packet(mask, t0, 0)
    with NodeStepper(Composite, {"look": "blur", "mask_max_age_ms": 50.0}, "composite") as step:
        step.process(frame=Packet(frame, t0, 0), mask=fresh, background=None)
        step.process(frame=Packet(frame, t0 + 200_000_000, 6), mask=fresh, background=None)   # mask 200 ms old
        step.process(frame=Packet(frame, t0 + 233_000_000, 7), mask=None, background=None)
    emitted = step.emitted["frame"]
    assert step.counters.get("fail_closed") == 2
    background = mask < 0.05
    with_mask, too_old, missing = (p.payload for p in emitted)
    assert np.array_equal(too_old, missing)      # an old mask is treated exactly like none
    assert not np.array_equal(with_mask, too_old)
    assert np.all(too_old[..., :3] == frame, axis=2)[background].mean() < 0.2
    assert mean_abs(too_old, frame, background) > 3.0
    assert [p.capture_ts_ns for p in emitted] == [t0, t0 + 200_000_000, t0 + 233_000_000]


def test_transparent_background_gives_bgra_with_the_mask_as_alpha() -> None:
    frame, mask = photo("camera_512")
    out, _ = composite("replace", frame, mask, background="transparent")
    assert out.shape == (*frame.shape[:2], 4)
    assert np.abs(out[..., 3].astype(np.int16) - np.rint(mask * 255)).max() <= 1
    # the colour is the frame's, except at soft edges where the person's own colour is estimated
    solid, soft = out[..., 3] == 255, (out[..., 3] > 0) & (out[..., 3] < 255)
    assert np.array_equal(out[..., :3][solid], frame[solid])
    changed = np.any(out[..., :3] != frame, axis=2)
    assert changed[soft].mean() > 0.5 and not changed[out[..., 3] == 0].all()


def test_poster_sets_the_users_title() -> None:
    frame, mask = photo("astronaut_512")
    a, _ = composite("poster", frame, mask, title="NIGHT SHIFT")
    b, _ = composite("poster", frame, mask, title="X")
    bottom = slice(int(frame.shape[0] * 0.6), None)
    assert mean_abs(a[bottom], b[bottom], np.ones(a[bottom].shape[:2], bool)) > 3.0


def test_mask_of_another_size_is_resized_not_refused() -> None:
    frame, mask = photo("astronaut_512")
    small = cv2.resize(mask, (256, 256))
    node = make_node(Composite, {"look": "replace"}, "composite")
    out = run_node(node, {"frame": packets([frame]), "mask": packets([small])})["frame"][0].payload
    assert out.shape == frame.shape


@pytest.mark.parametrize("options,expected", [
    ({"look": "sepia"}, "look"),
    ({"look": "poster", "settings": {"title": 3}}, "title: expected str"),
    ({"look": "blur", "settings": {"radius": 0.5}}, "radius must be in"),
    ({"look": "blur", "settings": {"bokehh": 1.0}}, "unknown option 'bokehh'"),
    ({"look": "stencil", "settings": {"ink": "red"}}, "'#rrggbb'"),
    ({"look": "blur", "mask_max_age_ms": -1.0}, "mask_max_age_ms"),
])
def test_bad_options_name_the_field(options: dict, expected: str) -> None:
    with pytest.raises(ConfigError, match="composite") as info:
        make_node(Composite, options, "composite")
    assert expected in str(info.value)


def test_missing_asset_file_names_the_setting_and_path(tmp_path: Path) -> None:
    frame, mask = photo("camera_512")
    missing = tmp_path / "nowhere.jpg"
    with pytest.raises(ConfigError, match="settings.background") as info:
        composite("replace", frame, mask, background=str(missing))
    assert "nowhere.jpg" in str(info.value)
