"""The segment node on real frames: MediaPipe parity at full frame, auto model choice, packet contract.

Not for: the converter (tests/models/test_tflite_to_onnx.py) or upscaling policy (fringe).
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from portraitflow.graph.errors import ConfigError
from portraitflow.graph.testing import make_node, packets, run_node
from portraitflow.nodes.segment import Segment

from support.paths import PARITY

IMAGES = ["astronaut_512", "camera_512", "coffee_noperson_600x400", "astronaut_in_coffee_1280x720"]
MEDIAPIPE_KEY = {"selfie_general": "selfie_segmentation", "selfie_landscape": "selfie_segmentation_landscape"}
MODEL_SHAPE = {"selfie_general": (256, 256), "selfie_landscape": (144, 256)}


def iou_at_half(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.mark.parametrize("model", ["selfie_general", "selfie_landscape"])
def test_full_frame_masks_match_mediapipe(model_cache, model):
    frames = [cv2.imread(str(PARITY / f"{name}.png")) for name in IMAGES]
    out = run_node(make_node(Segment, {"model": model}), {"frame": packets(frames)})["mask"]
    assert len(out) == len(frames)
    for name, frame, packet in zip(IMAGES, frames, out):
        mask = packet.payload
        assert mask.dtype == np.float32 and mask.shape == MODEL_SHAPE[model]  # model resolution, not upscaled
        full = cv2.resize(mask, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        reference = np.load(PARITY / f"{name}.mediapipe_masks.npz")[f"{MEDIAPIPE_KEY[model]}__full"]
        assert iou_at_half(full, reference) >= 0.999, name
        assert float(np.abs(full - reference).max()) < 2e-3, name


def test_mask_packet_keeps_timestamp_and_names_the_model(model_cache):
    frame = cv2.imread(str(PARITY / "astronaut_512.png"))
    sent = packets([frame, frame])
    out = run_node(make_node(Segment, {"model": "selfie_general"}), {"frame": sent})["mask"]
    assert [(p.capture_ts_ns, p.seq) for p in out] == [(p.capture_ts_ns, p.seq) for p in sent]
    assert all(p.meta["model"] == "selfie_general" for p in out)
    assert out[0].payload is not out[1].payload  # each mask is the receiver's to keep
    assert np.array_equal(out[0].payload, out[1].payload)
    assert frame.flags.writeable and np.array_equal(frame, cv2.imread(str(PARITY / "astronaut_512.png")))


@pytest.mark.parametrize("size, expected", [((1280, 720), "selfie_landscape"), ((640, 480), "selfie_general"),
                                            ((512, 512), "selfie_general"), ((720, 1280), "selfie_general"),
                                            ((1000, 700), "selfie_landscape")])
def test_auto_picks_landscape_only_for_frames_wider_than_4_3(model_cache, size, expected):
    frame = cv2.resize(cv2.imread(str(PARITY / "astronaut_in_coffee_1280x720.png")), size)
    out = run_node(make_node(Segment), {"frame": packets([frame])})["mask"][0]
    assert out.meta["model"] == expected
    assert out.payload.shape == MODEL_SHAPE[expected]


def test_bgra_frames_give_the_same_mask_as_bgr(model_cache):
    bgr = cv2.imread(str(PARITY / "camera_512.png"))
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    node = make_node(Segment, {"model": "selfie_general"})
    out = run_node(node, {"frame": packets([bgr, bgra])})["mask"]
    assert np.array_equal(out[0].payload, out[1].payload)
    assert out[0].payload.max() > 0.9 and out[0].payload.min() < 0.1  # a person and a background


def test_two_threads_give_the_same_mask(model_cache):
    frame = cv2.imread(str(PARITY / "astronaut_512.png"))
    one = run_node(make_node(Segment, {"model": "selfie_general"}), {"frame": packets([frame])})["mask"][0]
    two = run_node(make_node(Segment, {"model": "selfie_general", "threads": 2}),
                   {"frame": packets([frame])})["mask"][0]
    assert np.abs(one.payload - two.payload).max() < 1e-4


@pytest.mark.parametrize("options, field", [({"threads": 0}, "threads"), ({"model": ""}, "model"),
                                            ({"thread": 2}, "thread")])
def test_bad_options_name_the_field(options, field):
    with pytest.raises(ConfigError, match=field):
        make_node(Segment, options)


def test_an_unknown_model_is_named_when_the_node_opens(model_cache):
    node = make_node(Segment, {"model": "no_such_model"})
    with pytest.raises(ConfigError, match="no_such_model.*selfie_general"):
        run_node(node, {"frame": packets([np.zeros((64, 64, 3), np.uint8)])})
