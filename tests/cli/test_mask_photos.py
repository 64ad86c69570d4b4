"""`portraitflow mask` on many photos: each is its own scene. The segment node reuses a gate or carries a
mask between the frames of a video; across a folder of photos that would make a photo's mask depend on
the photo before it, so the command segments and gates every photo afresh.

Not for: the masks' quality (bench/quality.py, tests/models) or the graph's adaptive rate
(tests/nodes/test_segment_rate.py).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from support.paths import PARITY


def test_a_photos_mask_does_not_depend_on_the_photo_before_it(model_cache, tmp_path: Path) -> None:
    photo = cv2.imread(str(PARITY / "camera_512.png"))
    rng = np.random.default_rng(7)
    # two shots of the same scene a moment apart (fresh sensor noise): the case a gate would be reused in
    first, second = (cv2.add(photo, rng.normal(0, 2.0, photo.shape).astype(np.int16), dtype=cv2.CV_8U)
                     for _ in range(2))
    cv2.imwrite(str(tmp_path / "a.png"), first)
    cv2.imwrite(str(tmp_path / "b.png"), second)
    masks = {}
    for name, images in (("both", ["a.png", "b.png"]), ("alone", ["b.png"])):
        run = subprocess.run([sys.executable, "-m", "portraitflow", "mask", *images, "-o", name, "--npy"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        masks[name] = np.load(tmp_path / name / "b.npy")
    assert masks["both"].shape == photo.shape[:2]
    assert np.array_equal(masks["both"], masks["alone"])
