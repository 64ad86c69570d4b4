"""Virtual camera sink: a missing backend (package or loopback device) is an error saying what to install."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from portraitflow.devices.virtual_camera_sink import VirtualCameraSink, backend_install_hint
from portraitflow.graph import ConfigError, DeviceError
from portraitflow.graph.packet import Packet
from portraitflow.graph.testing import make_node, run_node

HAS_PYVIRTUALCAM = importlib.util.find_spec("pyvirtualcam") is not None


@pytest.mark.parametrize("platform, expected", [
    ("linux", "v4l2loopback"), ("win32", "OBS Studio"), ("darwin", "OBS Studio"), ("sunos5", "sunos5"),
])
def test_install_hint_per_platform(platform, expected):
    assert expected in backend_install_hint(platform)


def test_missing_backend_says_what_to_install():
    """This machine has neither a v4l2loopback device nor (unless the vcam extra is installed)
    pyvirtualcam: whichever is missing, the error names it and how to get it."""
    node = make_node(VirtualCameraSink, {"fps": 30.0})
    frame = Packet(np.zeros((48, 64, 3), np.uint8), 1, 0)
    with pytest.raises(DeviceError) as error:
        run_node(node, {"frame": [frame]})
    message = str(error.value)
    assert message.startswith("virtual camera:")
    assert backend_install_hint() in message
    if not HAS_PYVIRTUALCAM:
        assert "pip install 'portraitflow[vcam]'" in message
    assert isinstance(error.value, OSError)         # DeviceError is also an OSError


def test_width_and_height_go_together():
    with pytest.raises(ConfigError, match="width and height"):
        make_node(VirtualCameraSink, {"width": 640})
