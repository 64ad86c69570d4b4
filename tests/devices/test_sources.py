"""The sources: sample, video file, image, camera: counts, timestamps, shapes, content and errors."""
from __future__ import annotations

import itertools
import sys

import cv2
import numpy as np
import pytest

from portraitflow.devices.camera_source import CameraSource, list_cameras
from portraitflow.devices.image_source import ImageSource
from portraitflow.devices.sample_source import STAGE_MARGIN, SampleSource, camera_move
from portraitflow.devices.video_source import VideoSource
from portraitflow.graph import ConfigError, DeviceError
from portraitflow.graph.testing import make_node, run_node

from device_helpers import mean_abs_error, numbered_frame, write_video


def assert_stream(frames, count, shape):
    assert len(frames) == count
    stamps = [p.capture_ts_ns for p in frames]
    assert all(b > a for a, b in itertools.pairwise(stamps)), "capture timestamps must increase"
    assert [p.seq for p in frames] == list(range(count))
    for p in frames:
        assert p.payload.dtype == np.uint8 and p.payload.shape == shape


# -- sample -------------------------------------------------------------------------------------
def test_sample_emits_its_frames_at_720p():
    frames = run_node(make_node(SampleSource, {"frames": 12}))["frame"]
    assert_stream(frames, 12, (720, 1280, 3))
    assert [p.meta["frame_index"] for p in frames] == list(range(12))


def test_sample_moves_every_frame_but_gently():
    frames = [p.payload for p in run_node(make_node(SampleSource, {"frames": 60}))["frame"]]
    steps = [mean_abs_error(a, b) for a, b in itertools.pairwise(frames)]
    assert min(steps) > 0.3, "the camera must move every frame"
    assert max(steps) < 12.0, "but slowly: consecutive frames stay alike"
    assert mean_abs_error(frames[0], frames[-1]) > max(steps), "and the move accumulates"


def test_sample_view_never_leaves_the_stage():
    """No border is ever synthesised: every frame corner maps inside the stage, over a whole
    zoom and pan cycle."""
    stage_h, stage_w = round(720 * STAGE_MARGIN), round(1280 * STAGE_MARGIN)
    for t in np.arange(0.0, 80.0, 0.1):
        inverse = cv2.invertAffineTransform(camera_move(float(t), stage_w, stage_h))
        corners = np.array([[0, 0, 1], [1280, 0, 1], [0, 720, 1], [1280, 720, 1]], np.float32)
        x, y = (corners @ inverse.T).T
        assert x.min() >= 0 and x.max() <= stage_w and y.min() >= 0 and y.max() <= stage_h, t


def test_sample_is_live_only_when_paced():
    assert not make_node(SampleSource, {}).live
    assert make_node(SampleSource, {"realtime": True}).live


@pytest.mark.parametrize("options", [{"frames": 0}, {"fps": 0.0}, {"frames": "many"}])
def test_sample_rejects_bad_options(options):
    with pytest.raises(ConfigError, match=next(iter(options))):
        make_node(SampleSource, options)


# -- video file ---------------------------------------------------------------------------------
def test_video_source_decodes_every_frame_in_order(video_file):
    frames = run_node(make_node(VideoSource, {"path": str(video_file)}))["frame"]
    assert_stream(frames, 24, (240, 320, 3))
    pts = [p.meta["media_pts"] for p in frames]
    assert pts == sorted(pts) and len(set(pts)) == 24
    num, den = map(int, frames[0].meta["media_time_base"].split("/"))
    assert num > 0 and den > 0
    for i in (0, 11, 23):
        assert mean_abs_error(frames[i].payload, numbered_frame(i)) < 3.0


def test_video_source_max_frames_and_loop(video_file):
    limited = run_node(make_node(VideoSource, {"path": str(video_file), "max_frames": 10}))["frame"]
    assert len(limited) == 10
    looping = make_node(VideoSource, {"path": str(video_file), "loop": True, "max_frames": 30})
    looped = run_node(looping)["frame"]
    assert_stream(looped, 30, (240, 320, 3))
    assert mean_abs_error(looped[24].payload, numbered_frame(0)) < 3.0, "the loop starts over"


def test_video_source_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.mp4"
    node = make_node(VideoSource, {"path": str(missing)})
    with pytest.raises(DeviceError, match="nope.mp4") as info:
        run_node(node)
    assert isinstance(info.value, OSError)


def test_video_source_unreadable_file_names_it(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(DeviceError, match="cannot read video .*junk.mp4"):
        run_node(make_node(VideoSource, {"path": str(junk)}))


def test_video_source_odd_sized_files(tmp_path):
    path = write_video(tmp_path / "odd.mkv", 3, width=176, height=144)
    frames = run_node(make_node(VideoSource, {"path": str(path)}))["frame"]
    assert_stream(frames, 3, (144, 176, 3))


# -- image --------------------------------------------------------------------------------------
def test_image_source_repeats_one_read_only_image(tmp_path):
    path = tmp_path / "still.png"
    image = numbered_frame(5)
    cv2.imwrite(str(path), image)
    frames = run_node(make_node(ImageSource, {"path": str(path), "frames": 4}))["frame"]
    assert_stream(frames, 4, (240, 320, 3))
    assert np.array_equal(frames[0].payload, image)
    assert not frames[0].payload.flags.writeable, "shared by every packet: nobody may write into it"


def test_image_source_converts_grey_and_alpha_to_bgr(tmp_path):
    grey, rgba = tmp_path / "grey.png", tmp_path / "alpha.png"
    cv2.imwrite(str(grey), np.full((20, 30), 128, np.uint8))
    cv2.imwrite(str(rgba), np.full((20, 30, 4), 200, np.uint8))
    for path in (grey, rgba):
        frames = run_node(make_node(ImageSource, {"path": str(path)}))["frame"]
        assert_stream(frames, 1, (20, 30, 3))


def test_image_source_errors_name_the_file(tmp_path):
    with pytest.raises(DeviceError, match="image file not found: .*absent.jpg"):
        run_node(make_node(ImageSource, {"path": str(tmp_path / "absent.jpg")}))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(DeviceError, match="cannot decode image .*bad.jpg"):
        run_node(make_node(ImageSource, {"path": str(bad)}))


# -- camera -------------------------------------------------------------------------------------
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2 listing is Linux's")


@linux_only
def test_list_cameras_reads_video_nodes_in_numeric_order(tmp_path):
    dev, sysfs = tmp_path / "dev", tmp_path / "sys"
    for name, label in [("video10", "Capture card"), ("video2", "USB webcam"), ("video0", "Integrated")]:
        (dev / name).parent.mkdir(exist_ok=True)
        (dev / name).touch()
        (sysfs / name).mkdir(parents=True)
        (sysfs / name / "name").write_text(label + "\n")
    (dev / "video0-meta").touch()       # not a video node
    (dev / "video3").touch()            # no sysfs entry: still listed
    cameras = list_cameras(str(dev), str(sysfs))
    assert [(c.device, c.name) for c in cameras] == [
        (str(dev / "video0"), "Integrated"), (str(dev / "video2"), "USB webcam"),
        (str(dev / "video3"), "unknown"), (str(dev / "video10"), "Capture card")]


@linux_only
def test_missing_camera_is_a_clear_device_error(tmp_path):
    missing = tmp_path / "video99"
    for device in (str(missing), "97"):
        if device == "97" and list_cameras():
            continue
        with pytest.raises(DeviceError, match="no camera found: .*use --input sample or a video file"):
            run_node(make_node(CameraSource, {"device": device}))


def test_camera_is_live_and_validates_options():
    assert make_node(CameraSource, {}).live
    with pytest.raises(ConfigError, match="width"):
        make_node(CameraSource, {"width": 8})
