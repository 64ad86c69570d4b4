"""The example plugin package (examples/mirror_plugin, installed as the README's test command says):
mirror (a frame) and spotlight (a frame and its mask), through the harness and in a real graph."""
from __future__ import annotations

import numpy as np
import pytest

import portraitflow as pf
from portraitflow.graph.testing import NodeHarness, packets


def scene(n: int = 4) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Mid-grey frames with a 'person' band whose mask is 1 (frame size, as fringe.mask is)."""
    frames, masks = [], []
    for i in range(n):
        frame = np.full((48, 64, 3), 200, np.uint8)
        frame[:, :, 0] = i                               # tell frames apart
        mask = np.zeros((48, 64), np.float32)
        mask[:, 20:40] = 1.0
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def test_mirror_flips_left_to_right():
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[:, 0] = 255
    out = NodeHarness("mirror").run({"frame": packets([frame])})["frame"][0].payload
    assert out[:, -1].min() == 255 and out[:, 0].max() == 0


def test_spotlight_dims_the_background_and_keeps_the_person():
    frames, masks = scene()
    result = NodeHarness("spotlight", {"dim": 0.5}).run({"frame": packets(frames), "mask": packets(masks)})
    out = [p.payload for p in result["frame"]]
    assert len(out) == 4 and result.counters == {}
    for i, image in enumerate(out):
        assert image.dtype == np.uint8 and image.shape == (48, 64, 3)
        assert (image[:, 20:40, 1] == 200).all()         # the person, untouched
        assert (image[:, :20, 1] == 100).all() and (image[:, 40:, 1] == 100).all()   # dimmed by half
        assert image[0, 30, 0] == i                      # each frame with its own content


def test_spotlight_fails_closed_when_the_mask_is_missing_or_the_wrong_size():
    frames, masks = scene(5)
    mask_packets = packets(masks, period_ns=400_000_000)
    del mask_packets[2]                                  # never came; its neighbours are 400 ms away
    mask_packets[2] = mask_packets[2].derive(np.ones((10, 10), np.float32))   # frame 3's: a bad packet
    result = NodeHarness("spotlight", {"dim": 1.0}).run(
        {"frame": packets(frames, period_ns=400_000_000), "mask": mask_packets})
    out = [p.payload for p in result["frame"]]
    assert len(out) == 5                                 # every frame still comes out
    assert result.counters == {"no_mask": 2, "mask_size_mismatch": 1}
    for i in (2, 3):
        assert out[i].max() == 0                         # fully dimmed: no background shows
    assert (out[4][:, 20:40, 1] == 200).all()


def test_spotlight_options_are_range_checked_naming_the_field():
    with pytest.raises(pf.ConfigError, match=r"dim: dim must be in \[0.0, 1.0\], got 1.5"):
        NodeHarness("spotlight", {"dim": 1.5}).run({})


def test_spotlight_in_a_real_graph_with_the_real_model(model_cache):
    graph = (pf.GraphSpec().add("capture", "sample_source", frames=3)
             .add("segment", "segment").add("fringe", "fringe").add("spotlight", "spotlight", dim=0.8)
             .connect("capture.frame", "segment.frame").connect("segment.mask", "fringe.mask")
             .connect("capture.frame", "fringe.frame").connect("capture.frame", "spotlight.frame")
             .connect("fringe.mask", "spotlight.mask"))
    masks, frames = [], []
    for packet in pf.stream(graph, "spotlight.frame", policy="block"):
        frames.append(packet.payload)
    assert len(frames) == 3
    for packet in pf.stream(graph, "fringe.mask", policy="block"):
        masks.append(packet.payload)
    for frame, mask in zip(frames, masks, strict=True):
        person, background = frame[mask > 0.9], frame[mask < 0.1]
        assert person.size and background.size
        assert person.mean() > 2 * background.mean()    # the background really is dimmed


def test_the_readme_harness_example():   # the plugin guide's test, as written there
    frames = packets([np.full((48, 64, 3), 200, np.uint8)] * 3)
    result = NodeHarness("spotlight", {"dim": 1.0}).run({"frame": frames, "mask": []})
    assert [p.payload.max() for p in result["frame"]] == [0, 0, 0]
    assert result.counters == {"no_mask": 3}
