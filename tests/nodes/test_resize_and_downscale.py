"""The two size stages: downscale (the mask stages' working size) and resize (the output size the user
chose), on real photos at real sizes; and the composite drawing a working-size mask on a full frame."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.graph import ConfigError
from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.nodes.composite import Composite
from portraitflow.nodes.downscale import Downscale
from portraitflow.nodes.resize import Resize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_parity"


def photo(size: tuple[int, int]) -> np.ndarray:
    image = cv2.imread(str(FIXTURES / "astronaut_in_coffee_1280x720.png"), cv2.IMREAD_COLOR)
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def one(node_cls, options: dict, frame: np.ndarray) -> np.ndarray:
    out = run_node(make_node(node_cls, options), {"frame": packets([frame])})["frame"]
    assert len(out) == 1
    return out[0].payload


@pytest.mark.parametrize("size", [(3840, 2160), (1920, 1080), (2560, 1440), (1281, 721)])
def test_downscale_reaches_the_working_size_close_to_an_area_filter(size) -> None:
    frame = photo(size)
    small = one(Downscale, {}, frame)
    assert small.shape[:2] == (720, 1280) and small.dtype == np.uint8
    area = cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(np.int16) - area.astype(np.int16)).mean() < 2.0


def test_downscale_passes_a_small_frame_through_without_a_copy() -> None:
    frame = photo((640, 480))
    assert one(Downscale, {}, frame) is frame


@pytest.mark.parametrize("source, options, expected", [
    ((1920, 1080), {"width": 720, "height": 720, "fit": "cover"}, (720, 720)),
    ((3000, 4000), {"width": 1920, "height": 1080, "fit": "cover"}, (1080, 1920)),
    ((640, 480), {"width": 1920, "height": 1080, "fit": "cover"}, (1080, 1920)),     # enlarges to cover
    ((3840, 2160), {"width": 1920, "height": 1920, "fit": "within"}, (1080, 1920)),
    ((3000, 4000), {"width": 1920, "height": 1080, "fit": "within"}, (1080, 810)),
    ((640, 480), {"width": 1920, "height": 1080, "fit": "within"}, (480, 640)),      # never enlarges
])
def test_resize_gives_the_chosen_size(source, options, expected) -> None:
    assert one(Resize, options, photo(source)).shape == (*expected, 3)


def test_resize_cover_keeps_the_centre() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[:, 420:1500] = 255                       # the centre 1080 columns are white
    out = one(Resize, {"width": 1080, "height": 1080, "fit": "cover"}, frame)
    assert out.shape == (1080, 1080, 3) and out.min() == 255


def test_resize_passes_a_frame_of_the_right_size_through() -> None:
    frame = photo((1280, 720))
    assert one(Resize, {"width": 1280, "height": 720, "fit": "cover"}, frame) is frame
    assert one(Resize, {"width": 1920, "height": 1080, "fit": "within"}, frame) is frame


@pytest.mark.parametrize("options, field", [({"width": 8}, "width"), ({"height": 9000}, "height"),
                                            ({"fit": "stretch"}, "fit")])
def test_resize_options_are_checked(options, field) -> None:
    with pytest.raises(ConfigError, match=field):
        make_node(Resize, options)


@pytest.mark.parametrize("look", ["blur", "stencil"])
def test_composite_draws_a_working_size_mask_on_the_full_frame(look: str) -> None:
    frame = photo((1920, 1080))
    mask = np.load(FIXTURES / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")[
        "selfie_segmentation_landscape__full"].astype(np.float32)
    assert mask.shape == (720, 1280)
    node = make_node(Composite, {"look": look}, "composite")
    drawn = run_node(node, {"frame": packets([frame]), "mask": packets([mask])})["frame"][0].payload
    by_hand = cv2.resize(mask, (1920, 1080), interpolation=cv2.INTER_LINEAR)
    node = make_node(Composite, {"look": look}, "composite")
    expected = run_node(node, {"frame": packets([frame]), "mask": packets([by_hand])})["frame"][0].payload
    assert drawn.shape == (1080, 1920, 3)
    assert np.array_equal(drawn, expected)
