"""PNG, preview and null sinks: alpha kept, file naming, no-display error, counting."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.devices.null_sink import NullSink
from portraitflow.devices.png_sink import PngSink
from portraitflow.devices.preview_sink import PreviewSink
from portraitflow.graph import ConfigError, DeviceError
from portraitflow.graph.testing import make_node, packets, run_node

from device_helpers import numbered_frame


def bgra_frame(index: int) -> np.ndarray:
    bgr = numbered_frame(index, 64, 48)
    alpha = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (48, 1))
    return np.dstack([bgr, alpha])


def test_png_keeps_alpha_exactly(tmp_path):
    path = tmp_path / "cut.png"
    frame = bgra_frame(1)
    run_node(make_node(PngSink, {"path": str(path)}), {"frame": packets([frame])})
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert back.shape == (48, 64, 4)
    assert np.array_equal(back, frame)


def test_png_plain_path_holds_the_latest_frame(tmp_path):
    path = tmp_path / "latest.png"
    frames = [numbered_frame(i, 64, 48) for i in range(3)]
    run_node(make_node(PngSink, {"path": str(path)}), {"frame": packets(frames)})
    assert np.array_equal(cv2.imread(str(path)), frames[-1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.png"], "no partial files left"


def test_png_pattern_writes_one_file_per_frame(tmp_path):
    frames = packets([numbered_frame(i, 64, 48) for i in range(4)])
    gappy = [frames[0], frames[2], frames[3]]           # seq 1 was dropped upstream
    run_node(make_node(PngSink, {"path": str(tmp_path / "s{seq:05d}.png")}), {"frame": gappy})
    run_node(make_node(PngSink, {"path": str(tmp_path / "i{index}.png")}), {"frame": gappy})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["i0.png", "i1.png", "i2.png", "s00000.png", "s00002.png", "s00003.png"]
    assert np.array_equal(cv2.imread(str(tmp_path / "s00002.png")), gappy[1].payload)


@pytest.mark.parametrize("options, message", [
    ({"path": "out.jpg"}, "must end in .png"),
    ({"path": "{frame}.png"}, "only use {seq} and {index}"),
    ({"path": "a.png", "compression": 10}, "compression"),
])
def test_png_bad_options(options, message):
    with pytest.raises(ConfigError, match=message):
        make_node(PngSink, options)


def test_png_missing_directory_names_it(tmp_path):
    with pytest.raises(DeviceError, match="absent"):
        run_node(make_node(PngSink, {"path": str(tmp_path / "absent" / "x.png")}), {"frame": []})


def test_preview_without_a_display_says_so(monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(DeviceError, match="no display available"):
        run_node(make_node(PreviewSink, {}), {"frame": packets([numbered_frame(0)])})


def test_null_sink_counts_anything():
    result = run_node(NullSink, {"frame": packets([numbered_frame(0), np.zeros((4, 4), np.float32), "text"])})
    assert result.counters == {"discarded": 3} and result.processed == 3
