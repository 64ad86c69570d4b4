"""`portraitflow mask` end to end on the parity photos: files, sizes and values vs MediaPipe.

Not for: the refinement's quality (tests/nodes/ for fringe); here only that the default path uses it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from portraitflow.cli.main import main
from portraitflow.graph.errors import DeviceError

PARITY = Path(__file__).resolve().parents[1] / "fixtures" / "mediapipe_parity"


def reference(name: str) -> np.ndarray:
    """MediaPipe's full-frame mask with the model `auto` picks for this photo's aspect."""
    height, width = cv2.imread(str(PARITY / f"{name}.png")).shape[:2]
    key = "selfie_segmentation_landscape" if width / height > 4 / 3 else "selfie_segmentation"
    return np.load(PARITY / f"{name}.mediapipe_masks.npz")[f"{key}__full"]


def iou_at_half(a, b) -> float:
    a, b = a >= 0.5, b >= 0.5
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_raw_png_masks_match_mediapipe_and_bad_images_do_not_stop_the_others(model_cache, tmp_path,
                                                                            capsys):
    names = ["astronaut_512", "coffee_noperson_600x400", "astronaut_in_coffee_1280x720"]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    images = [str(PARITY / f"{n}.png") for n in names[:1]] + [str(broken), str(tmp_path / "missing.jpg")] \
        + [str(PARITY / f"{n}.png") for n in names[1:]]
    code = main(["mask", *images, "-o", str(tmp_path / "out"), "--raw"])
    err = capsys.readouterr().err
    assert code == DeviceError.exit_code
    assert f"{broken}: not a readable image" in err and "missing.jpg: no such image file" in err
    for name in names:
        png = cv2.imread(str(tmp_path / "out" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
        ref = reference(name)
        assert png.dtype == np.uint8 and png.shape == ref.shape  # 8-bit, one channel, the image's size
        assert np.abs(png.astype(np.float32) - ref * 255).max() <= 1.0
        assert iou_at_half(png / 255.0, ref) >= 0.999
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{n}.png" for n in names)


def test_npy_is_float32_at_image_size(model_cache, tmp_path):
    image = tmp_path / "photo.jpg.png"
    shutil.copy(PARITY / "camera_512.png", image)
    assert main(["mask", str(image), "-o", str(tmp_path), "--raw", "--npy", "--model", "selfie_general"]) == 0
    mask = np.load(tmp_path / "photo.jpg.npy")
    ref = np.load(PARITY / "camera_512.mediapipe_masks.npz")["selfie_segmentation__full"]
    assert mask.dtype == np.float32 and mask.shape == ref.shape
    assert np.abs(mask - ref).max() < 2e-3


def test_default_chain_refines_the_raw_mask(model_cache, tmp_path):
    image = str(PARITY / "astronaut_512.png")
    assert main(["mask", image, "-o", str(tmp_path / "raw"), "--raw", "--npy"]) == 0
    assert main(["mask", image, "-o", str(tmp_path / "best"), "--npy"]) == 0
    raw = np.load(tmp_path / "raw" / "astronaut_512.npy")
    best = np.load(tmp_path / "best" / "astronaut_512.npy")
    assert best.shape == raw.shape == (512, 512) and best.dtype == np.float32
    assert 0.0 <= best.min() and best.max() <= 1.0
    assert not np.array_equal(best, raw)  # refined, not the raw upscale again
    assert iou_at_half(best, reference("astronaut_512")) > 0.9  # still the same person


def test_unknown_model_is_a_clear_error(model_cache, tmp_path, capsys):
    assert main(["mask", str(PARITY / "camera_512.png"), "-o", str(tmp_path), "--model", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
