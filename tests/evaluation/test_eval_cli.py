"""`portraitflow eval` on a small folder of real composites with constructed truth: table and sheet.

Not for: the metrics' arithmetic (test_metrics.py).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from portraitflow.cli.main import main
from portraitflow.evaluation import clips, truth
from portraitflow.evaluation.contact_sheet import SheetRow, render_sheet

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mediapipe_parity"


@pytest.fixture
def folder(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    background = cv2.imread(str(FIXTURES / "coffee_noperson_600x400.png"))
    for name, model in (("astronaut_512", "selfie_segmentation"),
                        ("astronaut_in_coffee_1280x720", "selfie_segmentation_landscape")):
        photo = cv2.imread(str(FIXTURES / f"{name}.png"))
        reference = np.load(FIXTURES / f"{name}.mediapipe_masks.npz")[f"{model}__full"]
        true_mask = truth.detailed_truth(reference, seed=2)
        cv2.imwrite(str(images / f"{name}.png"), clips.composite_with_truth(photo, true_mask, background))
        cv2.imwrite(str(masks / f"{name}.png"), (true_mask * 255).astype(np.uint8))
    cv2.imwrite(str(images / "no_truth.png"), background)     # no mask of that stem: skipped
    return images, masks


def test_eval_prints_a_table_and_writes_a_sheet(folder, tmp_path, capsys, model_cache):
    images, masks = folder
    sheet = tmp_path / "worst.png"
    args = ["eval", "--images", str(images), "--masks", str(masks), "--sheet", str(sheet),
            "--cache-dir", str(model_cache)]
    assert main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[:3] == ["image", "IoU", "BF@2px"]
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in lines[1:]}
    assert set(rows) == {"astronaut_512", "astronaut_in_coffee_1280x720", "mean"}
    for stem in ("astronaut_512", "astronaut_in_coffee_1280x720"):
        iou, bf = rows[stem]
        assert 0.7 < iou <= 1.0 and 0.2 < bf <= 1.0, f"{stem}: {rows[stem]}"
    mean_iou = (rows["astronaut_512"][0] + rows["astronaut_in_coffee_1280x720"][0]) / 2
    assert rows["mean"][0] == pytest.approx(mean_iou, abs=1e-3)
    picture = cv2.imread(str(sheet))
    assert picture is not None and picture.shape[0] >= 2 * 180


def test_eval_with_no_pairs_fails_with_one_clear_line(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    code = main(["eval", "--images", str(tmp_path / "a"), "--masks", str(tmp_path / "b")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no photo in" in err and len(err.strip().splitlines()) == 1


def test_sheet_marks_missed_red_and_extra_blue():
    image = np.zeros((10, 10, 3), np.uint8)
    truth_mask = np.zeros((10, 10), np.float32)
    truth_mask[:, :5] = 1
    ours = np.zeros((10, 10), np.float32)
    ours[:, 3:8] = 1
    sheet = render_sheet([SheetRow("x", image, truth_mask, ours)], tile_height=10)
    diff = sheet[22:32, 3 * 14:3 * 14 + 10]         # fourth tile, after the caption band
    assert tuple(diff[5, 0]) == (0, 0, 255)          # missed: truth yes, ours no
    assert tuple(diff[5, 6]) == (255, 0, 0)          # extra
    assert tuple(diff[5, 9]) == (0, 0, 0)            # both no
