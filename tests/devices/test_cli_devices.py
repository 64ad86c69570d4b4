"""`portraitflow devices`: lists cameras, or says there is none and what to use instead."""
from __future__ import annotations

from portraitflow.cli.main import main
from portraitflow.devices.camera_source import list_cameras


def test_devices_command_lists_cameras_or_explains(capsys):
    assert main(["devices"]) == 0
    out, err = capsys.readouterr()
    cameras = list_cameras()
    if cameras:
        assert all(c.name in out for c in cameras)
    else:
        assert "no camera found" in err and "--input sample" in err
