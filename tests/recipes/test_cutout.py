"""The cutout recipe through the real graph (real model): an RGBA PNG whose alpha is the person and whose
colour is the photo's own where the person is solid; `render --recipe cutout` from the command line."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from portraitflow.cli.main import main
from portraitflow.recipes.loader import load_recipe
from portraitflow.recipes.still import render_still

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_parity"


def test_cutout_recipe_writes_the_person_on_transparency(tmp_path: Path, model_cache) -> None:
    source = FIXTURES / "astronaut_in_coffee_1280x720.png"
    out = render_still(load_recipe("cutout"), source, tmp_path / "cut.png")
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    frame = cv2.imread(str(source), cv2.IMREAD_COLOR)
    assert rgba.shape == (*frame.shape[:2], 4)
    alpha = rgba[..., 3]
    reference = np.load(FIXTURES / "astronaut_in_coffee_1280x720.mediapipe_masks.npz")["selfie_segmentation__full"]
    person, background = reference > 0.95, reference < 0.05
    # (MediaPipe's own mask of this photo misses part of the flag that ours half keeps: means, not all)
    assert (alpha[person] > 200).mean() > 0.95
    assert alpha[background].mean() < 60 and (alpha[background] == 0).mean() > 0.6
    solid = alpha == 255
    assert solid.sum() > 10_000 and np.array_equal(rgba[..., :3][solid], frame[solid])


def test_render_cutout_from_the_command_line(tmp_path: Path, model_cache, capsys) -> None:
    out = tmp_path / "cut.png"
    assert main(["render", str(FIXTURES / "astronaut_512.png"), "--recipe", "cutout", "-o", str(out)]) == 0
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape == (512, 512, 4)
    assert 0.05 < (rgba[..., 3] > 127).mean() < 0.95   # somebody there, and somewhere they are not
