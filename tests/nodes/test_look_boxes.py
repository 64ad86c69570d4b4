"""The looks work inside the person's box on reused buffers (issue 17): a box that moves between frames must
leave nothing of the last frame behind, a crop brought up must be the whole frame's upsampling, and the boxed
blends must be the plain blend.

Not for: the looks' design (test_look_signatures.py) or their speed (bench/looks.py; never asserted).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.nodes.looks.blend import alpha_blend
from portraitflow.nodes.looks.box_blend import alpha_box, blend_in_box, mix_in_box
from portraitflow.nodes.looks.catalogue import make_look
from portraitflow.nodes.looks.edge_colour import EdgeColour
from portraitflow.nodes.looks.reduced import grow_cells
from portraitflow.nodes.looks.scratch import Scratch
from portraitflow.recipes.loader import list_recipes, load_recipe

from support.paths import PARITY


def person(height: int, width: int, centre_x: float, scale: float = 1.0) -> np.ndarray:
    """A soft head-and-shoulders mask (float32) centred at ``centre_x`` (fraction of the width)."""
    mask = np.zeros((height, width), np.uint8)
    cx = int(width * centre_x)
    cv2.ellipse(mask, (cx, int(height * 0.38)), (int(width * 0.1 * scale), int(height * 0.2 * scale)), 0, 0, 360,
                255, -1, cv2.LINE_AA)
    cv2.ellipse(mask, (cx, height), (int(width * 0.25 * scale), int(height * 0.4 * scale)), 0, 180, 360, 255, -1,
                cv2.LINE_AA)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), 3.0)


@pytest.mark.parametrize("recipe", list_recipes())
def test_a_person_who_moves_leaves_nothing_behind(recipe: str) -> None:
    """Frame 2 drawn after frame 1 (the person far left, then far right and smaller: every box changes) is
    exactly frame 2 drawn by a fresh look; and frame 1 again after frame 2 is frame 1."""
    height, width = 360, 640
    photo = cv2.resize(cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png")), (width, height),
                       interpolation=cv2.INTER_AREA)
    frames = [photo, np.ascontiguousarray(photo[:, ::-1])]
    masks = [person(height, width, 0.25), person(height, width, 0.75, 0.6)]
    settings = load_recipe(recipe).settings

    def fresh(i: int) -> np.ndarray:
        return make_look(load_recipe(recipe).look, settings).render(frames[i], masks[i])

    look = make_look(load_recipe(recipe).look, settings)
    first = look.render(frames[0], masks[0])
    second = look.render(frames[1], masks[1])
    assert not np.array_equal(first, second)
    assert np.array_equal(second, fresh(1))
    assert np.array_equal(look.render(frames[0], masks[0]), first)
    # and nobody at all after somebody: the look as if nobody were there, nothing of the person kept
    assert np.array_equal(look.render(frames[1], np.zeros((height, width), np.float32)),
                          make_look(load_recipe(recipe).look, settings).render(frames[1],
                                                                               np.zeros((height, width), np.float32)))


@pytest.mark.parametrize("small, full", [((480, 270), (1280, 720)), ((320, 180), (1280, 720)),
                                         ((360, 480), (600, 800)), ((320, 180), (1920, 1080)),
                                         ((333, 187), (1280, 720))])
def test_a_grown_crop_is_the_whole_frames_upsampling(small: tuple[int, int], full: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    grid = rng.integers(0, 256, (small[1], small[0], 3), np.uint8)
    whole = cv2.resize(grid, full, interpolation=cv2.INTER_LINEAR)
    buffer = np.zeros((full[1], full[0], 3), np.uint8)
    (top, bottom, left, right), view = grow_cells(grid, full[1], full[0], (small[0] // 5, small[1] // 4, 40, 30),
                                                  buffer)
    assert view.base is buffer or view.base is buffer.base
    assert bottom - top >= 30 * full[1] // small[1] and right - left >= 40 * full[0] // small[0]
    # the crop's own border pixels are clamped at the margin cell; inside it the pixels are the whole frame's
    margin_y, margin_x = 2 * full[1] // small[1] + 1, 2 * full[0] // small[0] + 1
    inner = (slice(top + margin_y if top else 0, bottom - margin_y if bottom < full[1] else full[1]),
             slice(left + margin_x if left else 0, right - margin_x if right < full[0] else full[0]))
    assert np.array_equal(buffer[inner], whole[inner])


def test_the_boxed_blends_are_the_plain_blend() -> None:
    rng = np.random.default_rng(3)
    top, bottom = (rng.integers(0, 256, (90, 160, 3), np.uint8) for _ in range(2))
    alpha = np.zeros((90, 160), np.uint8)
    alpha[20:70, 30:120] = rng.integers(0, 256, (50, 90), np.uint8)
    alpha[40:50, 60:90] = 255
    expected = alpha_blend(top, bottom, alpha)
    box = alpha_box(alpha)
    assert box == (20, 70, 30, 120)
    out = blend_in_box(top, bottom, alpha, np.empty_like(top), Scratch())
    assert np.array_equal(out, expected)
    # a mix of frame, layer and background whose weights sum to 255 is the two blends in a row to a level
    layer = rng.integers(0, 256, top.shape, np.uint8)
    share = rng.integers(0, 256, alpha.shape, np.uint8)
    on_layer = cv2.multiply(alpha, share, scale=1 / 255)
    mixed = mix_in_box([(top, cv2.subtract(alpha, on_layer)), (layer, on_layer), (bottom, cv2.bitwise_not(alpha))],
                       bottom, np.empty_like(top), box, Scratch())
    two_steps = alpha_blend(alpha_blend(layer, top, share), bottom, alpha)
    assert np.abs(mixed.astype(np.int16) - two_steps).max() <= 3
    assert np.array_equal(mixed[alpha == 0], bottom[alpha == 0])


def test_edge_colour_changes_only_the_soft_edge() -> None:
    """Solid person and empty background keep the frame's own pixels; the soft edge over a bright wall gets
    darker (the wall's light taken out of the person's colour); with ``rim`` the pixels just outside the
    person take the person's colour too."""
    height, width = 360, 640
    frame = np.full((height, width, 3), 245, np.uint8)                  # a white wall
    mask = person(height, width, 0.5)
    person_colour = np.array([40, 50, 70], np.float32)
    frame = (mask[..., None] * person_colour + (1 - mask[..., None]) * 245).astype(np.uint8)
    alpha = cv2.convertScaleAbs(mask, alpha=255)
    edge = EdgeColour(height, width)
    out = edge(frame, mask, alpha).copy()
    solid, empty = alpha == 255, alpha == 0
    soft = (alpha > 20) & (alpha < 200)
    assert np.array_equal(out[solid], frame[solid]) and np.array_equal(out[empty], frame[empty])
    assert out[soft].astype(np.float32).mean() < frame[soft].astype(np.float32).mean() - 40
    with_rim = edge(frame, mask, alpha, rim=True)
    rim = empty & (cv2.dilate(alpha, np.ones((3, 3), np.uint8)) > 0)     # one pixel outside the person
    assert with_rim[rim].astype(np.float32).mean() < 245 - 60     # towards the person's dark colour
    assert np.array_equal(edge(frame, mask, alpha)[rim], frame[rim])   # (without rim: the frame's own)
    far = empty & (cv2.dilate(alpha, np.ones((61, 61), np.uint8)) == 0)
    assert np.array_equal(with_rim[far], frame[far])


@pytest.mark.parametrize("recipe", list_recipes())
def test_each_frame_is_a_new_array_and_the_inputs_are_untouched(recipe: str) -> None:
    """The looks draw through reused buffers, but what goes downstream is the frame's own new array (a
    sink may still hold the last one) and the frame and mask they were given are left as they were."""
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (360, 640, 3), np.uint8)
    mask = person(360, 640, 0.5)
    frame_before, mask_before = frame.copy(), mask.copy()
    look = make_look(load_recipe(recipe).look, load_recipe(recipe).settings)
    first = look.render(frame, mask)
    kept = first.copy()
    second = look.render(frame, mask)
    assert not np.shares_memory(first, second)
    assert np.array_equal(first, kept) and np.array_equal(second, kept)
    assert np.array_equal(frame, frame_before) and np.array_equal(mask, mask_before)
