"""The devices as the runtime sees them: found by entry-point name, wired by a GraphSpec, run threaded."""
from __future__ import annotations

import cv2

from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import GraphSpec

from device_helpers import decode_all, mean_abs_error, numbered_frame


def test_video_file_through_the_runner_to_mp4_and_png(video_file, tmp_path):
    out, still = tmp_path / "out.mp4", tmp_path / "last.png"
    spec = (GraphSpec(name="copy")
            .add("capture", "video_source", path=str(video_file))
            .add("output", "video_sink", path=str(out))
            .add("still", "png_sink", path=str(still))
            .add("discard", "null_sink")
            .connect("capture.frame", "output.frame")
            .connect("capture.frame", "still.frame")
            .connect("capture.frame", "discard.frame"))
    stats = run_graph(spec)
    assert stats.dropped == 0
    assert stats.nodes["output"].counters["frames_written"] == 24
    assert stats.nodes["discard"].counters["discarded"] == 24
    decoded = decode_all(out)
    assert len(decoded) == 24
    assert mean_abs_error(decoded[-1], numbered_frame(23)) < 4.0
    assert mean_abs_error(cv2.imread(str(still)), numbered_frame(23)) < 3.0


def test_sample_and_image_sources_run_in_a_graph(tmp_path):
    image = tmp_path / "still.jpg"
    cv2.imwrite(str(image), numbered_frame(0))
    spec = (GraphSpec(name="sources")
            .add("sample", "sample_source", frames=5)
            .add("photo", "image_source", path=str(image), frames=3)
            .add("a", "null_sink").add("b", "null_sink")
            .connect("sample.frame", "a.frame").connect("photo.frame", "b.frame"))
    stats = run_graph(spec)
    assert stats.nodes["a"].counters["discarded"] == 5
    assert stats.nodes["b"].counters["discarded"] == 3
    assert stats.frames_in() == 8 and stats.dropped == 0
    assert stats.edges["sample.frame->a.frame"].pushed == 5 and stats.edges["photo.frame->b.frame"].pushed == 3
