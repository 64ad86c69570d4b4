"""Browser preview in a real headless Chromium: the image updates, clicks and sliders change the running look,
the OBS page keeps the alpha, and every attack on the server is refused while it keeps serving."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from portraitflow.devices.web_server import WebPreviewServer
from portraitflow.graph import Frame, Node, registry
from portraitflow.graph.errors import ConfigError
from portraitflow.graph.options import check_ranges
from portraitflow.graph.runner import GraphRunner
from portraitflow.graph.spec import GraphSpec
from portraitflow.nodes.looks.assets import parse_colour

RED, BLUE = "#ff0000", "#0000ff"


class Tint(Node):
    """Paints the left quarter of the frame one colour and the next quarter one grey ``level``: looks
    whose changes are easy to see."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        colour: str = RED
        level: int = 40          # grey level of the second quarter

        def __post_init__(self):
            check_ranges(self, level=(0, 255))

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        image = packet.payload.copy()
        quarter = image.shape[1] // 4
        image[:, :quarter] = parse_colour(self.options.colour)
        image[:, quarter: 2 * quarter] = self.options.level
        ctx.emit("frame", packet.derive(image))


class Cutout(Node):
    """BGRA out: the frame with alpha 255 inside a fixed ellipse (the "person") and 0 around it."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        frame = packet.payload
        ctx.emit("frame", packet.derive(cv2.merge((*cv2.split(frame), cutout_mask(*frame.shape[:2])))))


def cutout_mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 6, height // 3), 0, 0, 360, 255, -1)
    return mask


registry.register("t_tint", Tint)
registry.register("t_cutout", Cutout)


def start_preview(spec: GraphSpec, **server_options):
    server = WebPreviewServer(sink_id="preview", **server_options).start()
    runner = GraphRunner(spec).start()
    server.attach(runner)
    return server, runner


def stop_preview(server, runner):
    runner.resume()
    runner.stop()
    runner.wait(10)
    server.close()


def tint_graph() -> GraphSpec:
    return (GraphSpec(name="preview-test")
            .add("capture", "sample_source", frames=100_000, fps=30.0, realtime=True)
            .add("tint", "t_tint", colour=RED)
            .add("preview", "web_preview_sink", max_width=640)
            .connect("capture.frame", "tint.frame")
            .connect("tint.frame", "preview.frame"))


@pytest.fixture
def running_preview():
    server, runner = start_preview(tint_graph(), looks={"red": {"tint": {"colour": RED}},
                                                        "blue": {"tint": {"colour": BLUE}}},
                                   current_look="red")
    try:
        yield server, runner
    finally:
        stop_preview(server, runner)


def wait_for(check, timeout_s=15.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what() if callable(what) else what}")


def tint_colour(image: np.ndarray) -> np.ndarray:
    """Median BGR inside the tinted quarter (away from its edge and JPEG ringing)."""
    h, w = image.shape[:2]
    return np.median(image[h // 4: 3 * h // 4, w // 32: w // 5].reshape(-1, 3), axis=0)


def grey_level(image: np.ndarray) -> float:
    """Median of the second quarter (the ``level`` grey)."""
    h, w = image.shape[:2]
    return float(np.median(image[h // 4: 3 * h // 4, 9 * w // 32: 15 * w // 32]))


def frame_number(page) -> int:
    return int(page.text("#frame-number") or 0)


def test_live_image_updates_and_a_click_switches_the_recipe(browser, running_preview):
    server, runner = running_preview
    page = browser.open(server.control_url)
    wait_for(lambda: frame_number(page) > 3, what="the first frames in the page")
    assert "token" not in page.evaluate("location.href")      # taken out of the address bar

    first = page.element_image('#frame')
    number_first = frame_number(page)
    wait_for(lambda: frame_number(page) > number_first + 3, what="newer frames")
    second = page.element_image('#frame')
    assert first.shape[0] > 100 and first.shape == second.shape
    _h, w = first.shape[:2]
    untinted = (slice(None), slice(w // 2, None))       # the sample's camera moves: pixels change
    assert np.abs(first[untinted].astype(np.int16) - second[untinted]).mean() > 1.0
    assert tint_colour(second) == pytest.approx([0, 0, 255], abs=25)      # red, in BGR

    wait_for(lambda: page.evaluate("document.querySelectorAll('#recipes button').length") == 2,
             what="the recipe buttons")
    page.click("#recipe-blue")
    clicked_at = frame_number(page)
    wait_for(lambda: page.text("#current-recipe") == "blue", what="the page to show the new recipe")
    assert server.current_look == "blue"

    def shows_blue():
        return np.allclose(tint_colour(page.element_image('#frame')), [255, 0, 0], atol=25)
    wait_for(shows_blue, timeout_s=5.0, what="a blue tint in the shown frames")
    assert frame_number(page) > clicked_at              # a newer frame, not a repainted old one
    assert runner.nodes["tint"].options.colour == BLUE
    assert runner.running                               # switched live: the same graph still runs

    # the statistics table lists every node with a live frame rate; the page measures its own rate
    # and the capture-to-screen latency, and reports both
    wait_for(lambda: page.evaluate("document.querySelectorAll('#stats tbody tr').length") == 3,
             what="a stats row per node")
    rows = page.evaluate("[...document.querySelectorAll('#stats tbody tr')]"
                         ".map(r => [...r.children].map(c => c.textContent))")
    assert [row[0] for row in rows] == ["capture", "tint", "preview"]
    wait_for(lambda: (server.browser_fps or 0) > 0, what="the page to report its frame rate")
    page_report = wait_for(lambda: server.stats()["clients"].get("page", {}).get("latency_ms_p50"),
                           what="the page to report its latency")
    assert page_report > 0
    assert page.text("#latency-p50") not in ("-", None)


def test_a_real_slider_drag_changes_the_next_frames(browser, running_preview):
    server, runner = running_preview
    page = browser.open(server.control_url)
    wait_for(lambda: frame_number(page) > 3, what="the first frames")
    assert grey_level(page.element_image("#frame")) == pytest.approx(40, abs=6)
    wait_for(lambda: page.evaluate("!!document.querySelector('#node-tint summary')"), what="the node controls")
    page.click("#node-tint summary")                    # open the node's settings, as a user would
    slider = "#control-node-tint-level"
    wait_for(lambda: page.evaluate(f"document.querySelector('{slider}').getBoundingClientRect().width > 0"),
             what="the slider to show")
    page.evaluate(f"document.querySelector('{slider}').scrollIntoView({{block: 'center'}})")
    box = page.evaluate(f"(() => {{ const r = document.querySelector('{slider}').getBoundingClientRect();"
                        " return [r.x, r.y + r.height / 2, r.width]; })()")
    x, y, width = box
    # a real drag: press near the left end, move right in steps, release at 80 % of the track
    page.call("Input.dispatchMouseEvent", type="mousePressed", x=x + 0.1 * width, y=y, button="left", clickCount=1)
    for fraction in (0.3, 0.5, 0.7, 0.8):
        page.call("Input.dispatchMouseEvent", type="mouseMoved", x=x + fraction * width, y=y, button="left")
    page.call("Input.dispatchMouseEvent", type="mouseReleased", x=x + 0.8 * width, y=y, button="left", clickCount=1)
    level = int(page.evaluate(f"document.querySelector('{slider}').value"))   # where the drag left it
    assert 170 <= level <= 240                          # about 80 % of 0..255
    wait_for(lambda: runner.nodes["tint"].options.level == level, what="the slider's last value at the node")
    moved_at = frame_number(page)
    seen = []
    wait_for(lambda: abs(seen.append(grey_level(page.element_image("#frame"))) or seen[-1] - level) < 8,
             timeout_s=5.0, what=lambda: f"the new grey ({level}) in the shown frames, saw {seen[-5:]}")
    assert frame_number(page) > moved_at
    assert runner.nodes["tint"].options.colour == RED   # the other setting is untouched
    assert server.stats()["modified"] is True


def test_pause_and_resume_from_the_page(browser, running_preview):
    server, runner = running_preview
    page = browser.open(server.control_url)
    wait_for(lambda: frame_number(page) > 3 and page.text("#pause") == "Pause"
             and page.evaluate("!document.querySelector('#pause').disabled"), what="the page to be live")
    page.click("#pause")
    wait_for(lambda: runner.paused, what="the graph to pause")
    wait_for(lambda: page.text("#pause") == "Resume", what="the page to offer resume")
    emitted = runner.stats.nodes["capture"].emitted
    page.click("#pause")
    wait_for(lambda: not runner.paused, what="the graph to resume")
    wait_for(lambda: runner.stats.nodes["capture"].emitted > emitted + 3, what="frames again")
    assert page.text("#status") == "live" or wait_for(lambda: page.text("#status") == "live", what="live")


def test_controls_come_from_typed_options_and_bad_values_leave_the_look(running_preview):
    server, runner = running_preview
    controls = get_json(server.url + "controls")
    tint = next(n for n in controls["nodes"] if n["id"] == "tint")
    options = {o["name"]: o for o in tint["options"]}
    assert options["level"]["kind"] == "int" and (options["level"]["low"], options["level"]["high"]) == (0, 255)
    assert options["level"]["doc"] == "grey level of the second quarter"
    assert options["colour"]["kind"] == "colour" and options["colour"]["value"] == RED
    assert [n["id"] for n in controls["nodes"]] == ["tint"]   # no source or sink settings from a page
    for bad, words in [({"node": "tint", "options": {"level": 300}}, "level must be in [0, 255], got 300"),
                       ({"node": "tint", "options": {"level": "high"}}, "expected int"),
                       ({"node": "capture", "options": {"fps": 1.0}}, "no settings for node 'capture'"),
                       ({"node": "tint", "options": {"nope": 1}}, "unknown option 'nope'")]:
        status, answer = post(server, "/options", bad)
        assert status == 400 and words in answer["error"] and "\n" not in answer["error"]
    assert runner.current_options("tint").level == 40 and runner.current_options("tint").colour == RED
    status, answer = post(server, "/options", {"node": "tint", "options": {"level": 90}})
    assert status == 200 and answer["options"]["level"] == 90


# -- the OBS page ---------------------------------------------------------------------------------------
def test_obs_page_shows_the_cut_out_over_a_transparent_page(browser):
    spec = (GraphSpec(name="obs-test")
            .add("capture", "sample_source", frames=100_000, fps=30.0, realtime=True)
            .add("cutout", "t_cutout")
            .add("preview", "web_preview_sink")          # 1280x720 as it comes: shown 1:1 in the 1280 px window
            .connect("capture.frame", "cutout.frame")
            .connect("cutout.frame", "preview.frame"))
    server, runner = start_preview(spec)
    try:
        page = browser.open(server.obs_url)
        page.call("Emulation.setDefaultBackgroundColorOverride", color={"r": 0, "g": 0, "b": 0, "a": 0})
        wait_for(lambda: int(page.evaluate("document.querySelector('#frame')?.dataset.frame || 0")) > 3,
                 what="frames on the OBS page")
        assert page.evaluate("document.querySelectorAll('button, input, select, a').length") == 0   # no controls
        shot = cv2.imdecode(np.frombuffer(page.screenshot(), np.uint8), cv2.IMREAD_UNCHANGED)
        assert shot.ndim == 3 and shot.shape[2] == 4
        # where the canvas is drawn (object-fit: contain, centred, no margins)
        view_w, view_h, frame_w, frame_h = page.evaluate(
            "[innerWidth, innerHeight, document.querySelector('#frame').width, document.querySelector('#frame').height]")
        assert (frame_w, frame_h) == (1280, 720)
        scale = min(view_w / frame_w, view_h / frame_h)
        shown_w, shown_h = round(frame_w * scale), round(frame_h * scale)
        left, top = (view_w - shown_w) // 2, (view_h - shown_h) // 2
        alpha = shot[top: top + shown_h, left: left + shown_w, 3]
        mask = cv2.resize(cutout_mask(720, 1280), (alpha.shape[1], alpha.shape[0]), interpolation=cv2.INTER_NEAREST)
        # JPEG blurs the alpha's edge over a few pixels: compared away from it
        inside = cv2.erode(mask, np.ones((13, 13), np.uint8)) == 255
        outside = cv2.dilate(mask, np.ones((13, 13), np.uint8)) == 0
        assert inside.sum() > 10_000 and outside.sum() > 10_000
        assert (alpha[inside] == 255).mean() > 0.995      # the person: opaque
        assert (alpha[outside] == 0).mean() > 0.995       # the background: transparent
        assert (shot[:top, :, 3] == 0).all() and (shot[top + shown_h:, :, 3] == 0).all()   # page: transparent
        colour = shot[top: top + shown_h, left: left + shown_w, :3]
        assert colour[inside].mean() > 20                  # the person's colour is there, not black
        wait_for(lambda: server.stats()["clients"].get("obs", {}).get("fps"), what="the OBS page's report")
    finally:
        stop_preview(server, runner)


def test_a_bgra_frame_reaches_the_page_with_its_alpha_and_snapshots_keep_full_resolution():
    spec = (GraphSpec(name="alpha-test")
            .add("capture", "sample_source", frames=100_000, fps=30.0, realtime=True)
            .add("cutout", "t_cutout")
            .add("preview", "web_preview_sink", max_width=640)
            .connect("capture.frame", "cutout.frame")
            .connect("cutout.frame", "preview.frame"))
    server, runner = start_preview(spec)
    try:
        with urllib.request.urlopen(server.url + "frame.jpg?after=0", timeout=10) as response:
            alpha_rows = int(response.headers["X-Alpha-Rows"])
            stacked = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
        assert alpha_rows == 368 and stacked.shape == (368 + 360, 640, 3)   # 360 rows padded to 16s
        alpha = stacked[alpha_rows:, :, 1]
        mask = cv2.resize(cutout_mask(720, 1280), (640, 360), interpolation=cv2.INTER_AREA)
        assert np.abs(alpha.astype(np.int16) - mask).mean() < 2.0
        with urllib.request.urlopen(server.url + "snapshot.png", timeout=10) as response:
            snapshot = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_UNCHANGED)
        assert snapshot.shape == (720, 1280, 4)           # full resolution, with its alpha
        assert (snapshot[..., 3] == cutout_mask(720, 1280)).all()
    finally:
        stop_preview(server, runner)


# -- attacks ----------------------------------------------------------------------------------------
def raw_request(server, text: bytes, body_stream=None, read_timeout=15.0) -> tuple[int, dict, bytes]:
    """Send bytes on a real socket; (status, headers, body) of the answer (0 when the server gave none)."""
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as sock:
        sock.sendall(text)
        sender = None
        if body_stream is not None:
            sender = threading.Thread(target=_send_quietly, args=(sock, body_stream), daemon=True)
            sender.start()
        reply = b""
        try:
            while b"\r\n\r\n" not in reply:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
            head, _, body = reply.partition(b"\r\n\r\n")
            if not head:
                return 0, {}, b""
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", 0))
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        except ConnectionResetError:
            return 0, {}, b""
        return int(lines[0].split()[1]), headers, body


def _send_quietly(sock, chunks) -> None:
    try:
        for chunk in chunks:
            sock.sendall(chunk)
    except OSError:
        pass


def post(server, path, body, *, origin=None, content_type="application/json", token=True, host=None):
    """A POST as the page sends it, each part replaceable by an attacker's."""
    hostport = server.url.split("//")[1].rstrip("/")
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Host": host or hostport, "Origin": origin or f"http://{hostport}",
               "Content-Type": content_type, "Content-Length": str(len(data))}
    if token:
        headers["X-Portraitflow-Token"] = server.token
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items() if v) + "\r\n"
    status, _, answer = raw_request(server, head.encode() + data)
    return status, json.loads(answer) if answer else {}


def get(server, path, *, host=None, extra="") -> tuple[int, bytes]:
    hostport = server.url.split("//")[1].rstrip("/")
    status, _, body = raw_request(server, f"GET {path} HTTP/1.1\r\nHost: {host or hostport}\r\n{extra}\r\n".encode())
    return status, body


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read(), parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def assert_unharmed(server, runner):
    """The look is as it was and the server still serves the page, frames and valid statistics."""
    assert server.current_look == "red" and runner.current_options("tint").colour == RED
    assert get(server, "/")[0] == 200
    status, jpeg = get(server, "/frame.jpg?after=0")
    assert status == 200 and cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) is not None
    get_json(server.url + "stats")


def test_cross_site_and_rebinding_requests_are_refused(running_preview):
    server, runner = running_preview
    wait_for(lambda: server.latest().number > 2, what="frames at the sink")
    evil = "http://evil.example"
    cases = [
        # the curl: another site's page posting text/plain (a "simple" request, no preflight)
        ({"origin": evil, "content_type": "text/plain", "token": False}, 403, "Origin 'http://evil.example'"),
        ({"origin": evil}, 403, "is not this page"),                        # even with the token
        ({"content_type": "text/plain"}, 415, "expected Content-Type application/json"),
        ({"token": False}, 401, "needs the token"),
        ({"host": "rebind.evil.example"}, 403, "Host 'rebind.evil.example' is not this server"),
    ]
    for attack, status, words in cases:
        got, answer = post(server, "/recipe", {"name": "blue"}, **attack)
        assert (got, words in answer.get("error", "")) == (status, True), (attack, got, answer)
    hostport = server.url.split("//")[1].rstrip("/")
    bad_token = (f"POST /recipe HTTP/1.1\r\nHost: {hostport}\r\nOrigin: http://{hostport}\r\nContent-Type: "
                 f"application/json\r\nX-Portraitflow-Token: {'x' * len(server.token)}\r\nContent-Length: 16\r\n\r\n"
                 '{"name": "blue"}').encode()
    assert raw_request(server, bad_token)[0] == 403
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends it as Host
    for path in ("/frame.jpg?after=0", "/", "/stats", "/snapshot.png", "/controls"):
        status, body = get(server, path, host="rebind.evil.example:80")
        assert status == 403 and b"is not this server" in body
    # another site embedding or reading us: the browser marks it cross-site
    assert get(server, "/frame.jpg?after=0", extra="Sec-Fetch-Site: cross-site\r\n")[0] == 403
    assert_unharmed(server, runner)


def test_bad_bodies_get_a_one_line_answer_and_the_server_keeps_serving(running_preview):
    server, runner = running_preview
    wait_for(lambda: server.latest().number > 2, what="frames at the sink")
    cases = [
        (b'{"fps": NaN}', 400, "NaN is not a number here", "/client-stats"),
        (b'{"fps": 1e999}', 400, "out of range", "/client-stats"),
        (b'{"fps": -Infinity}', 400, "not a number here", "/client-stats"),
        (b'["blue"]', 400, "expected a JSON object, got a list", "/recipe"),
        (b"[" * 50_000 + b"]" * 50_000, 413, "body too large", "/recipe"),
        (b"[" * 20_000 + b"]" * 20_000, 400, "not valid JSON", "/recipe"),
        (b'{"a":' * 12 + b"1" + b"}" * 12, 400, "nested deeper than 8", "/recipe"),
        (b'{"name": {"x": [[[[[[[[[1]]]]]]]]]}}', 400, "nested deeper than 8", "/recipe"),
        (b'{"name": 3}', 400, "field 'name': expected a string, got a number", "/recipe"),
        (b'{"name": "blue", "extra": 1}', 400, "unknown field 'extra'", "/recipe"),
        (b'{"paused": "yes"}', 400, "expected true or false", "/pause"),
        (b"\xff\xfe", 400, "not valid JSON", "/recipe"),
        (b'{"name": "blue"', 400, "not valid JSON", "/recipe"),
        (b'{"fps": 1' + b"0" * 40 + b"}", 400, "out of range", "/client-stats"),
        (b'{"name": "nope"}', 400, "unknown recipe 'nope'", "/recipe"),
        (b'{"name": "x"}', 404, "no endpoint /nowhere", "/nowhere"),
    ]
    for body, status, words, path in cases:
        got, answer = post(server, path, body)
        assert (got, words in answer.get("error", ""), "\n" in answer.get("error", "")) == (status, True, False), \
            (body[:40], got, answer)
    assert get_json(server.url + "stats")["browser_fps"] is None     # never NaN: /stats stays valid JSON
    assert_unharmed(server, runner)


def test_huge_bodies_are_refused_unread_and_cost_no_memory(running_preview):
    server, runner = running_preview
    wait_for(lambda: server.latest().number > 2, what="frames at the sink")
    hostport = server.url.split("//")[1].rstrip("/")
    head = (f"POST /recipe HTTP/1.1\r\nHost: {hostport}\r\nOrigin: http://{hostport}\r\n"
            f"Content-Type: application/json\r\nX-Portraitflow-Token: {server.token}\r\n")
    rss_before = _rss_bytes()
    megabyte = b"x" * (1 << 20)
    # 256 MB announced and streamed (without waiting for 100-continue): 413, and the stream is drained
    status, headers, body = raw_request(server, (head + "Content-Length: 268435456\r\n\r\n").encode(),
                                        body_stream=(megabyte for _ in range(256)))
    assert status == 413 and b"body too large" in body and headers["connection"] == "close"
    assert _rss_bytes() - rss_before < 64 << 20          # not held in memory
    # a Content-Length no body could have
    status, _, body = raw_request(server, (head + "Content-Length: 99999999999999999999999\r\n\r\n").encode())
    assert status == 413
    # curl's way for big bodies: it asks first and is refused before sending
    status, _, body = raw_request(server, (head + "Content-Length: 268435456\r\nExpect: 100-continue\r\n\r\n").encode())
    assert status == 413
    status, _, body = raw_request(server, (head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode())
    assert status == 411
    status, _, body = raw_request(server, (head + "\r\n").encode())
    assert status == 411
    assert_unharmed(server, runner)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def test_slow_clients_time_out_and_threads_are_bounded():
    server, runner = start_preview(tint_graph(), max_threads=4, client_timeout_s=1.0)
    try:
        host, port = server.url.split("//")[1].rstrip("/").split(":")
        # a slow client: half a request line, then nothing; the server hangs up instead of waiting
        slow = socket.create_connection((host, int(port)), timeout=10)
        slow.sendall(b"GET /sta")
        assert slow.recv(100) == b""                     # closed by the server, well before our 10 s
        slow.close()
        # slowloris: a byte every 0.1 s is never silent for 1 s, yet the whole head must come in 1 s
        drip = socket.create_connection((host, int(port)), timeout=10)
        request = f"GET /stats HTTP/1.1\r\nHost: {host}:{port}\r\nX-Padding: {'x' * 200}\r\n\r\n".encode()
        sent = 0
        try:
            for sent in range(len(request)):              # 20 s at this pace if it were let through
                drip.sendall(request[sent: sent + 1])
                time.sleep(0.1)
        except OSError:
            pass                                         # the server hung up: what we wanted
        assert sent < len(request) - 1 or drip.recv(100) == b""
        drip.close()
        # four idle connections hold the four threads: a fifth is told 503 at once, not queued
        idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(4)]
        wait_for(lambda: server._http._slots._value == 0, what="the four threads to be taken")
        status, _ = get(server, "/stats")
        assert status == 503
        for sock in idle:
            sock.close()
        wait_for(lambda: get(server, "/stats")[0] == 200, what="threads to come back")
    finally:
        stop_preview(server, runner)


def test_beyond_loopback_every_request_needs_the_token():
    # the tests listen on 127.0.0.1 only: the rule for other addresses is switched on by hand here
    server, runner = start_preview(tint_graph(), token_for_everything=True)
    try:
        for path in ("/", "/obs", "/frame.jpg?after=0", "/stats", "/controls", "/snapshot.png"):
            assert get(server, path)[0] == 401
            assert get(server, path + ("&" if "?" in path else "?") + "token=wrong")[0] == 403
        assert get(server, f"/stats?token={server.token}")[0] == 200
        status, _jpeg = get(server, f"/frame.jpg?after=0&token={server.token}")
        assert status in (200, 204)
    finally:
        stop_preview(server, runner)


def test_guard_for_other_addresses():
    from portraitflow.devices.web_guard import Refused, RequestGuard

    guard = RequestGuard("0.0.0.0", 8765, "secret")
    assert guard.token_for_everything
    assert guard.check_host({"Host": "192.168.1.20:8765"}) == "192.168.1.20:8765"
    with pytest.raises(Refused, match="is not this server"):
        guard.check_host({"Host": "rebind.evil.example:8765"})
    with pytest.raises(Refused, match="is not this server"):
        guard.check_host({"Host": "192.168.1.20:9999"})
    guard.check_control({"Origin": "http://192.168.1.20:8765", "Content-Type": "application/json",
                         "X-Portraitflow-Token": "secret"}, {})
    with pytest.raises(Refused, match="is not this page"):
        guard.check_control({"Origin": "http://evil.example", "Content-Type": "application/json",
                             "X-Portraitflow-Token": "secret"}, {})
    assert not RequestGuard("127.0.0.1", 1, "t").token_for_everything


# -- the rest -----------------------------------------------------------------------------------------
def test_endpoints_stats_frames_and_bad_recipe(running_preview):
    server, _runner = running_preview
    wait_for(lambda: server.latest().number > 5, what="frames at the sink")
    with urllib.request.urlopen(server.url + "frame.jpg?after=0", timeout=10) as response:
        number = int(response.headers["X-Frame-Number"])
        assert response.headers["X-Alpha-Rows"] == "0"
        image = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)                 # 1280x720 downscaled to max_width
    with urllib.request.urlopen(server.url + f"frame.jpg?after={number}", timeout=10) as response:
        assert int(response.headers["X-Frame-Number"]) > number    # the long poll waits for a newer one

    get_json(server.url + "stats")
    def stats_with_rates():
        stats = get_json(server.url + "stats")
        return stats if all(n["fps"] for n in stats["nodes"]) else None

    stats = wait_for(stats_with_rates, what="frame rates in the statistics")
    by_id = {n["id"]: n for n in stats["nodes"]}
    assert set(by_id) == {"capture", "tint", "preview"}
    assert by_id["capture"]["fps"] > 0                  # a live rate (speed itself is never asserted)
    assert by_id["preview"]["latency_ms_p50"] is not None
    assert stats["recipes"] == ["red", "blue"] and stats["recipe"] == "red"
    assert stats["serve_cpu_ms_per_frame"] is not None

    status, answer = post(server, "/recipe", {"name": "nope"})
    assert status == 400 and "unknown recipe 'nope'" in answer["error"]
    assert post(server, "/recipe", {"name": "blue"}) == (200, {"recipe": "blue"})
    with urllib.request.urlopen(server.url, timeout=10) as response:
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


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
    jpeg, _number, _capture_ts_ns, alpha_rows = node.latest.newer_than(0, 0.1)
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert 57 <= image.mean() <= 60 and alpha_rows == 0     # the newest frame kept is one of the last sent


# -- the real command: the standard chain with the model, a transparent look, saving a recipe ---------------
def test_run_preview_web_real_chain_keeps_alpha_offers_the_look_and_saves_a_recipe(tmp_path, model_cache):
    import os
    import signal
    import subprocess
    import sys

    from portraitflow.recipes.loader import load_recipe

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    command = [sys.executable, "-m", "portraitflow", "run", "--recipe", "replace", "--set", "background=transparent",
               "--output", "null", "--preview", "web", "--port", "0", "--quiet"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
                            cwd=tmp_path)
    try:
        preview = proc.stderr.readline().split()
        obs = proc.stderr.readline().split()
        assert preview[0] == "preview:" and "?token=" in preview[1], preview
        assert obs[0] == "obs:" and obs[1].split("?")[0].endswith("/obs"), obs
        base, token = preview[1].split("?token=")
        hostport = base.split("//")[1].rstrip("/")

        def call(path, body=None):
            headers = {"X-Portraitflow-Token": token}
            if body is not None:
                headers.update({"Content-Type": "application/json", "Origin": f"http://{hostport}"})
            request = urllib.request.Request(base + path.lstrip("/"), None if body is None else json.dumps(body).encode(),
                                             headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                return error.code, error.headers, error.read()

        def frame_with_a_person():
            # the first frames may come before their masks on a loaded machine: the composite then
            # fails closed (alpha 0 everywhere), which is right; the person follows
            status, headers, jpeg = call("frame.jpg?after=0")
            if status != 200:
                return None
            stacked = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
            rows = int(headers["X-Alpha-Rows"])
            return (rows, stacked) if rows and (stacked[rows:, :, 1] > 247).mean() > 0.1 else None

        alpha_rows, stacked = wait_for(frame_with_a_person, timeout_s=60, what="a frame with the person's alpha")
        assert alpha_rows == 720 and stacked.shape == (1440, 1280, 3)      # 1280x720 colour + its alpha
        alpha = stacked[alpha_rows:, :, 1]
        assert (alpha < 8).mean() > 0.2 and (alpha > 247).mean() > 0.1     # background out, the person in
        assert alpha[360, 640] > 247 and alpha[40, 40] < 8                # the sample's astronaut is centred

        controls = json.loads(call("controls")[2])
        assert controls["look"]["name"] == "replace" and controls["recipe"] == "replace"
        settings = {o["name"]: o for o in controls["look"]["settings"]}
        assert (settings["light_wrap"]["low"], settings["light_wrap"]["high"]) == (0, 1)
        assert settings["background"]["value"] == "transparent"
        assert [n["id"] for n in controls["nodes"]] == ["downscale", "segment", "smooth", "fringe", "composite"]
        # an image path that does not load is valid as data: accepted, then undone when the look fails on it
        assert call("options", {"node": "composite", "settings": {"background": "/nowhere/backdrop.png"}})[0] == 200
        undone = wait_for(lambda: json.loads(call("stats")[2])["undone_changes"].get("composite"),
                          timeout_s=30, what="the failed change to be undone")
        assert "backdrop.png" in undone
        look = {o["name"]: o["value"] for o in json.loads(call("controls")[2])["look"]["settings"]}
        assert look["background"] == "transparent"
        assert call("frame.jpg?after=0")[0] == 200 and proc.poll() is None    # the run goes on

        assert call("options", {"node": "composite", "settings": {"light_wrap": 0.2}})[0] == 200
        assert call("options", {"node": "fringe", "options": {"feather": 2.5}})[0] == 200

        status, _, answer = call("save-recipe", {"name": "my_cutout"})
        assert status == 200, answer
        path = json.loads(answer)["path"]
        assert path == str(tmp_path / "config" / "portraitflow" / "recipes" / "my_cutout.toml")
        recipe = load_recipe(path)                                       # what `--recipe PATH` reads
        assert recipe.look == "replace" and recipe.settings["light_wrap"] == 0.2
        assert recipe.settings["background"] == "transparent" and recipe.node_options["fringe"]["feather"] == 2.5
        status, _, answer = call("save-recipe", {"name": "my_cutout"})
        assert status == 400 and b"exists already" in answer
        assert call("save-recipe", {"name": "../escape"})[0] == 400
        assert proc.poll() is None                                       # still running throughout
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_a_graph_file_with_the_standard_chain_is_offered_the_recipes():
    import argparse

    from portraitflow.cli.run import _web_preview_looks
    from portraitflow.devices.endpoints import sink_for, source_for
    from portraitflow.graph.validate import resolve
    from portraitflow.recipes.loader import list_recipes, load_recipe, recipe_graph

    args = argparse.Namespace(graph="my-graph.toml", recipe=None)
    chain = resolve(recipe_graph(load_recipe("poster"), source=source_for("sample"), sink=sink_for("null")))
    looks, current = _web_preview_looks(args, chain)
    assert list(looks) == list_recipes() and current is None
    assert looks["blur"]["composite"]["look"] == "blur" and "fringe" in looks["blur"]
    assert _web_preview_looks(args, resolve(tint_graph())) == ({}, None)     # no standard chain: none
