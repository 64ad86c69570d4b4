"""Fixtures for the devices tests; the helpers themselves live in device_helpers.py.

Not for: helpers (a subprocess script imports device_helpers too, without pytest).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# --import-mode=importlib does not put test folders on sys.path; the test modules and the
# kill_writer.py subprocess import device_helpers by name
sys.path.insert(0, str(Path(__file__).parent))

from device_helpers import write_video


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    """A 24-frame 320x240 H.264 MP4 at 24 fps."""
    return write_video(tmp_path / "clip.mp4", 24)
