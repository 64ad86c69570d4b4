"""Each look's design promise measured on its output, not eyeballed: no saw-tooth ridges in the double
exposure, no ripple rings in the bokeh, a film poster's type hierarchy placed below the head and a
teal-orange that reads teal, stencil shapes without speckle in flat tones, one caption size in the
gallery, no halo of the old background on a replaced one.

Not for: the looks' plumbing (test_composite.py) or their masks (test_fringe.py, test_mask_gating.py).
"""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from portraitflow.nodes.looks.catalogue import make_look
from portraitflow.nodes.looks.portrait_blur import lens_kernel
from portraitflow.nodes.shared_shrink import shrink_twice_then_area
from portraitflow.recipes.still import contact_sheet

from support.paths import PARITY


def bust(height: int, width: int) -> np.ndarray:
    """A smooth head-and-shoulders mask reaching the bottom edge (float32, frame size)."""
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, int(height * 0.35)), (int(width * 0.14), int(height * 0.2)), 0, 0, 360, 255,
                -1, cv2.LINE_AA)
    cv2.ellipse(mask, (width // 2, height), (int(width * 0.36), int(height * 0.42)), 0, 180, 360, 255, -1,
                cv2.LINE_AA)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 1.5)


def sharp_turns_per_100px(image: np.ndarray, region: np.ndarray, step: int) -> float:
    """Corners sharper than 75 degrees per 100 px of the image's iso-brightness lines inside ``region``:
    a ridge of spikes or a row of pine tips is a chain of such corners; hills and haze have almost none."""
    grey = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (0, 0), step / 2)
    inside = cv2.erode(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    corners, length = 0, 0.0
    for level in range(60, 220, 20):
        contours, _ = cv2.findContours((grey > level).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        for contour in contours:
            points = contour[:, 0, :][::step]
            if len(points) < 4:
                continue
            heading = np.arctan2(*np.diff(points.astype(np.float32), axis=0).T[::-1])
            turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
            counted = inside[points[1:-1, 1], points[1:-1, 0]]
            corners += int((turn[counted] > np.radians(75)).sum())
            length += float(counted.sum()) * step
    return 100.0 * corners / max(length, 1.0)


@pytest.mark.parametrize("height, width", [(720, 1280), (800, 600), (480, 640)])
def test_double_exposure_fill_has_no_saw_tooth(height: int, width: int) -> None:
    """A dark flat portrait shows the fill as it is (screen over black): its ridges and treeline inside
    the silhouette must be smooth lines. The previous landscape (thin pines and six-octave ridges) gave
    0.7-1.9 corners per 100 px here; a smooth design stays under 0.5."""
    look = make_look("double_exposure", {"fade": 0.0, "face_clear": 0.0})
    mask = bust(height, width)
    out = look.render(np.full((height, width, 3), 40, np.uint8), mask)
    assert sharp_turns_per_100px(out, mask > 0.99, max(3, min(height, width) // 120)) < 0.5


def test_double_exposure_keeps_the_face_and_dissolves_smoothly_at_the_bottom() -> None:
    height, width = 720, 1280
    mask = bust(height, width)
    rng = np.random.default_rng(3)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 6)
    face = np.clip(128 + 45 * blobs / blobs.std(), 0, 255)          # light and shade, face-sized features
    frame = cv2.merge([face.astype(np.uint8)] * 3)
    look = make_look("double_exposure", {})
    out = cv2.cvtColor(look.render(frame, mask), cv2.COLOR_BGR2GRAY).astype(np.float32)
    head = (mask > 0.99) & (np.arange(height)[:, None] < height * 0.42)
    assert np.corrcoef(face[head], out[head])[0, 1] > 0.8    # the face's light and shade read through
    # the dissolve runs along whole rows: at the bottom the figure is gone, evenly across its width
    ground = cv2.cvtColor(look.render(frame, None), cv2.COLOR_BGR2GRAY).astype(np.float32)
    assert np.abs(out[-2] - ground[-2]).max() < 3.0


@pytest.mark.parametrize("radius", [1.5, 3.0, 5.0, 8.0])
def test_lens_kernel_spectrum_is_monotone_without_rings(radius: float) -> None:
    """A hard disc aperture has a jinc spectrum whose negative lobes print rings around highlights; the
    lens kernel's spectrum must fall monotonically from 1 and never cross zero, in every direction."""
    row = lens_kernel(radius)[:, 0].astype(np.float64)
    assert row.sum() == pytest.approx(1.0, abs=1e-5)
    n = 512
    padded = np.zeros(n)
    padded[:row.size] = row
    spectrum = np.abs(np.fft.rfft(padded))             # the 2-D spectrum is this times itself
    assert np.all(np.diff(spectrum) <= 1e-9)
    real = np.fft.rfft(np.roll(padded, -(row.size // 2))).real
    assert real.min() > -1e-7                          # no negative lobe: no zero-crossing ring
    # spread along an axis matches the disc of that radius (std radius / 2)
    centre = (row.size - 1) / 2
    std = np.sqrt((row * (np.arange(row.size) - centre) ** 2).sum())
    assert std == pytest.approx(radius / 2, rel=0.15)


def test_bokeh_of_a_point_light_falls_off_without_rings() -> None:
    height, width = 360, 640
    frame = np.full((height, width, 3), 20, np.uint8)
    cv2.circle(frame, (320, 180), 3, (255, 255, 255), -1)
    out = make_look("blur", {"bokeh": 1.0}).render(frame, np.zeros((height, width), np.float32))
    profile = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)[180, 320:].astype(np.int16)
    assert profile[0] > profile[-1] + 20                  # the light blooms
    assert np.all(np.diff(profile[:80]) <= 1)             # and falls off monotonically: no ring


def test_the_blur_is_the_same_whether_or_not_the_chain_made_the_small_copy_first() -> None:
    """The blur's working grid comes from the frame's shared small copy (nodes/shared_shrink.py) that the
    segment and smooth nodes make for the same frame: a hit in that cache must give the very pixels a miss
    does, so the output never depends on which thread got there first."""
    photo = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    mask = np.load(PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")["selfie_segmentation_landscape__full"]
    mask = cv2.resize(mask, (1280, 720))
    first = photo.copy()
    missed = make_look("blur").render(first, mask)
    second = photo.copy()
    shrink_twice_then_area(second, (256, 144))   # what the smooth node makes for its flow
    hit = make_look("blur").render(second, mask)
    assert np.array_equal(hit, missed)
    background = mask < 0.01
    assert np.abs(hit.astype(np.int16) - photo)[background].mean() > 3.0   # and blurred the background
    assert np.array_equal(hit[mask > 0.999], photo[mask > 0.999])             # not the person


@pytest.mark.parametrize("height, width", [(720, 1280), (1440, 2560), (800, 600)])
def test_poster_type_hierarchy_below_the_head(height: int, width: int) -> None:
    look = make_look("poster", {})
    look.render(np.zeros((height, width, 3), np.uint8), None)
    boxes = look.type_boxes()
    order = ["tagline", "title"] + sorted(k for k in boxes if k.startswith("credit"))
    assert list(boxes) == order and len(order) in (3, 4)           # a billing block of 1-2 lines
    tops = [boxes[k][0] for k in order]
    assert tops == sorted(tops)                                     # tagline, title, billing, top to bottom
    for upper, lower in itertools.pairwise(order):
        assert boxes[upper][1] < boxes[lower][0]                    # no overlaps
    heights = {k: boxes[k][1] - boxes[k][0] for k in order}
    # the title leads (a tall frame narrows it to the width, still well over twice the other lines)
    assert heights["title"] > 2.4 * max(heights[k] for k in order if k != "title")
    assert heights["tagline"] >= 0.014 * height and heights["credit0"] > 0.012 * height   # readable
    assert boxes["tagline"][0] > 0.55 * height                      # in the bottom part: never over hair
    assert boxes[order[-1]][1] < 0.97 * height
    assert all(0 <= box[2] and box[3] <= width for box in boxes.values())


def test_poster_teal_orange_reads_teal_not_purple() -> None:
    frame = cv2.imread(str(PARITY / "astronaut_512.png"))
    mask = np.load(PARITY / "astronaut_512.mediapipe_masks.npz")["selfie_segmentation__full"]
    out = make_look("poster", {"title": "", "tagline": "", "credit": ""}).render(frame, mask)
    sky = (mask < 0.02) & (np.arange(512)[:, None] < 300)
    hsv = cv2.cvtColor(out, cv2.COLOR_BGR2HSV)
    hue = np.median(hsv[..., 0][sky & (hsv[..., 1] > 40)])
    assert 78 <= hue <= 102, f"sky hue {hue} (OpenCV 0-180): teal is ~90, purple ~140"
    b, g, r = (float(out[..., c][sky].mean()) for c in range(3))
    assert g > r and b > r
    skin = (mask > 0.98) & (np.arange(512)[:, None] < 160)
    b, g, r = (float(out[..., c][skin].mean()) for c in range(3))
    assert r > g > b                                                # and the skin warm


def test_stencil_cuts_flat_tones_without_speckle() -> None:
    frame = cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png"))
    mask = np.load(PARITY / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")[
        "selfie_segmentation_landscape__full"]
    look = make_look("stencil", {"paint_texture": 0.0, "overspray": 0.0, "spray": 0.0})
    out = look.render(frame, mask)
    person = cv2.erode((mask > 0.5).astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    colours, counts = np.unique(out[person].reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours[counts > 0.002 * person.sum()]) <= 3      # three flat paints, nothing in between
    # islands of paint smaller than the knife's scale inside the figure (the knife: ~4% of the head's
    # width, here ~8 px; an island under a quarter of its square is speckle, not a shape)
    inner = cv2.erode((mask > 0.5).astype(np.uint8), np.ones((25, 25), np.uint8))
    specks = 0
    for colour in look._colours:
        layer = np.all(out == colour, axis=2).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(layer, connectivity=8)
        for label in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < 16) + 1:
            specks += int(inner[labels == label].all())
    assert specks <= 2, f"{specks} specks"


@pytest.mark.parametrize("name, key", [("astronaut_in_coffee_1280x720", "selfie_segmentation_landscape__full"),
                                       ("astronaut_512", "selfie_segmentation__full")])
def test_stencil_outline_has_no_speckle(name: str, key: str) -> None:
    """With the recipe's own settings on MediaPipe's soft mask: paint islands under 16 px anywhere (the
    droplets a dithered soft edge scattered along the outline: 1324 and 50 of them before)."""
    from portraitflow.recipes.loader import load_recipe

    frame = cv2.imread(str(PARITY / f"{name}.png"))
    mask = np.load(PARITY / f"{name}.mediapipe_masks.npz")[key]
    look = make_look("stencil", load_recipe("stencil").settings)
    out, wall = look.render(frame, mask), look.render(frame, None)
    paint = (np.abs(out.astype(np.int16) - wall.astype(np.int16)).max(axis=2) > 30).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(paint, connectivity=8)
    assert int((stats[1:, cv2.CC_STAT_AREA] < 16).sum()) <= 5


def test_gallery_captions_share_one_size() -> None:
    tile = np.full((120, 90, 3), 128, np.uint8)
    descriptions = ["HI", "HIM HIM HIM HIM", "HIM HIM HIM HIM HIM HIM HIM HIM HIM HIM HIM HIM HIM HIM HIM"]
    sheet = contact_sheet([(f"look{i}", d, tile) for i, d in enumerate(descriptions)], columns=3,
                          tile_height=120)
    band = sheet[24 + 120 + 40:24 + 120 + 86]       # the description lines under the first row
    heights = []
    for col in range(3):
        x0 = 24 + col * (90 + 24)
        ink = np.flatnonzero(band[:, x0:x0 + 90].max(axis=(1, 2)) > 80)
        first_line = ink[:np.argmax(np.diff(ink) > 2)] if np.any(np.diff(ink) > 2) else ink
        heights.append(first_line[-1] - first_line[0])
    assert max(heights) - min(heights) <= 2, heights


def test_replace_draws_hair_without_the_old_backgrounds_halo() -> None:
    """Dark hair strands (known colour) filmed against a white wall, then put on black: the soft edge
    must carry the hair's colour, not the wall's (decontaminate on, versus off)."""
    height, width = 360, 640
    hair = np.array((30, 40, 60), np.float32)
    x = np.arange(width, dtype=np.float32)
    alpha = np.clip((420.0 - x) / 80.0, 0.0, 1.0)[None, :].repeat(height, 0)   # a wide soft edge
    alpha = alpha * (0.75 + 0.25 * np.sin(np.arange(height)[:, None] * 0.9)) ** 2   # strands
    alpha = np.clip(alpha, 0, 1).astype(np.float32)
    frame = (alpha[..., None] * hair + (1 - alpha[..., None]) * 255.0).astype(np.uint8)
    edge = (alpha > 0.15) & (alpha < 0.85)
    outs = {flag: make_look("replace", {"background": "#000000", "light_wrap": 0.0, "decontaminate": flag})
            .render(frame, alpha) for flag in (True, False)}
    expected = alpha[..., None] * hair        # the hair's own colour over black
    halo = {flag: float(np.abs(out.astype(np.float32) - expected)[edge].mean()) for flag, out in outs.items()}
    assert halo[False] > 40.0                 # the wall's white rides along without decontamination
    assert halo[True] < 0.8 * halo[False]
