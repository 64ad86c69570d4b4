"""Browser preview in a real headless Chromium: the image updates, a click switches the look, stats show."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from portraitflow.devices.web_preview import WebPreviewServer
from portraitflow.graph import Frame, Node, registry
from portraitflow.graph.errors import ConfigError
from portraitflow.graph.runner import GraphRunner
from portraitflow.graph.spec import GraphSpec
from portraitflow.recipes.assets import parse_colour

RED, BLUE = "#ff0000", "#0000ff"


class Tint(Node):
    """Paints the left quarter of the frame one colour: a look whose change is easy to see."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        colour: str = RED

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        image = packet.payload.copy()
        image[:, : image.shape[1] // 4] = parse_colour(self.options.colour)
        ctx.emit("frame", packet.derive(image))


registry.register("t_tint", Tint)


@pytest.fixture
def running_preview():
    spec = (GraphSpec(name="preview-test")
            .add("capture", "sample_source", frames=100_000, fps=30.0, realtime=True)
            .add("tint", "t_tint", colour=RED)
            .add("preview", "web_preview_sink", max_width=640)
            .connect("capture.frame", "tint.frame")
            .connect("tint.frame", "preview.frame"))
    server = WebPreviewServer(sink_id="preview", looks={"red": {"tint": {"colour": RED}},
                                                        "blue": {"tint": {"colour": BLUE}}},
                              current_look="red").start()
    runner = GraphRunner(spec).start()
    server.attach(runner)
    try:
        yield server, runner
    finally:
        runner.stop()
        runner.wait(10)
        server.close()


def wait_for(check, timeout_s=15.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def tint_colour(image: np.ndarray) -> np.ndarray:
    """Median BGR inside the tinted quarter (away from its edge and JPEG ringing)."""
    h, w = image.shape[:2]
    return np.median(image[h // 4: 3 * h // 4, w // 32: w // 5].reshape(-1, 3), axis=0)


def frame_number(page) -> int:
    return int(page.text("#frame-number") or 0)


def test_live_image_updates_and_a_click_switches_the_recipe(browser, running_preview):
    server, runner = running_preview
    page = browser.open(server.url)
    wait_for(lambda: frame_number(page) > 3, what="the first frames in the page")

    first = page.element_image('#frame')
    number_first = frame_number(page)
    time.sleep(0.6)
    second = page.element_image('#frame')
    number_second = frame_number(page)
    assert number_second > number_first + 3             # ~30 fps: many frames in 0.6 s
    assert first.shape[0] > 100 and first.shape == second.shape
    h, w = first.shape[:2]
    untinted = (slice(None), slice(w // 3, None))       # the sample's camera moves: pixels change
    assert np.abs(first[untinted].astype(np.int16) - second[untinted]).mean() > 1.0
    assert tint_colour(second) == pytest.approx([0, 0, 255], abs=25)      # red, in BGR

    wait_for(lambda: page.evaluate("document.querySelectorAll('#recipes button').length") == 2,
             what="the recipe buttons")
    page.click("#recipe-blue")
    clicked_at = frame_number(page)
    wait_for(lambda: page.text("#current-recipe") == "blue",
             what="the page to show the new recipe")
    assert server.current_look == "blue"

    def shows_blue():
        image = page.element_image('#frame')
        return np.allclose(tint_colour(image), [255, 0, 0], atol=25)
    wait_for(shows_blue, timeout_s=5.0, what="a blue tint in the shown frames")
    assert frame_number(page) > clicked_at              # a newer frame, not a repainted old one
    assert runner.nodes["tint"].options.colour == BLUE
    assert runner.running                               # switched live: the same graph still runs

    # the statistics table lists every node with a live frame rate, and the page measures its own
    wait_for(lambda: page.evaluate("document.querySelectorAll('#stats tbody tr').length") == 3,
             what="a stats row per node")
    rows = page.evaluate("[...document.querySelectorAll('#stats tbody tr')]"
                         ".map(r => [...r.children].map(c => c.textContent))")
    assert [row[0] for row in rows] == ["capture", "tint", "preview"]
    assert all(float(row[1]) > 10 for row in rows)      # fps column
    wait_for(lambda: (server.browser_fps or 0) > 10, what="the page to report its frame rate")


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def post_json(url, body):
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_endpoints_stats_frames_and_bad_recipe(running_preview):
    server, runner = running_preview
    wait_for(lambda: server.latest().number > 5, what="frames at the sink")
    with urllib.request.urlopen(server.url + "frame.jpg?after=0", timeout=10) as response:
        number = int(response.headers["X-Frame-Number"])
        image = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)                 # 1280x720 downscaled to max_width
    with urllib.request.urlopen(server.url + f"frame.jpg?after={number}", timeout=10) as response:
        assert int(response.headers["X-Frame-Number"]) > number    # the long poll waits for a newer one

    get_json(server.url + "stats")
    time.sleep(0.5)
    stats = get_json(server.url + "stats")
    by_id = {n["id"]: n for n in stats["nodes"]}
    assert set(by_id) == {"capture", "tint", "preview"}
    assert 20 < by_id["capture"]["fps"] < 40            # paced at 30 fps
    assert by_id["preview"]["latency_ms_p50"] is not None
    assert stats["recipes"] == ["red", "blue"] and stats["recipe"] == "red"

    with pytest.raises(urllib.error.HTTPError) as error:
        post_json(server.url + "recipe", {"name": "nope"})
    assert error.value.code == 400
    assert "unknown recipe 'nope'" in json.load(error.value)["error"]
    assert post_json(server.url + "recipe", {"name": "blue"}) == {"recipe": "blue"}


def test_attach_needs_the_sink():
    server = WebPreviewServer(sink_id="nowhere")
    try:
        runner = GraphRunner(GraphSpec().add("capture", "sample_source", frames=1)
                             .add("preview", "web_preview_sink").connect("capture.frame", "preview.frame"))
        with pytest.raises(ConfigError, match="no node 'nowhere'"):
            server.attach(runner.start())
        runner.wait(10)
    finally:
        server.close()


@pytest.mark.parametrize("source_fps, max_fps, shown", [(30, 30, 60), (60, 30, 30), (30, 15, 30), (24, 30, 60)])
def test_sink_keeps_at_most_max_fps_frames(source_fps, max_fps, shown):
    from portraitflow.devices.web_preview import WebPreviewSink
    from portraitflow.graph.testing import make_node, packets, run_node

    node = make_node(WebPreviewSink, {"max_fps": max_fps, "max_width": 64})
    frames = [np.full((36, 64, 3), i, np.uint8) for i in range(60)]
    # jitter of +-3 ms around the nominal period: a source at exactly max_fps still shows every frame
    timed = packets(frames, period_ns=int(1e9 / source_fps))
    jitter = np.random.default_rng(1).integers(-3_000_000, 3_000_000, len(timed))
    timed = [p.__class__(p.payload, p.capture_ts_ns + int(j), p.seq) for p, j in zip(timed, jitter)]
    run_node(node, {"frame": timed})
    assert abs(node.latest.number - shown) <= 1
    jpeg, number, capture_ts_ns = node.latest.newer_than(0, 0.1)
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert 57 <= image.mean() <= 60                  # the newest frame kept is one of the last sent
