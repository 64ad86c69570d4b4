"""Watch the running graph in a browser: a sink that keeps the latest frame as JPEG, and a local web server.

Not for: recording or streaming (video_sink.py, stream_sink.py); the page is for one local viewer.
The server (stdlib http.server, 127.0.0.1 only) serves the page (assets/web_preview.html), the newest
frame by long polling, per-node statistics as JSON, and a recipe picker: a POST switches the look
live through GraphRunner.set_options, without restarting the graph.
    node:   {type = "web_preview_sink", options = {max_fps = 30.0}}   in: frame (Frame, BGR or BGRA)
    server: WebPreviewServer(looks={"blur": {"composite": {...}}, ...}).start(); server.attach(runner)
"""
from __future__ import annotations

import dataclasses
import json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2

from ..graph.options import Above, check_ranges
from ..graph import ConfigError, DeviceError, Frame, Node
from ..graph.stats import percentile_ms

PAGE = Path(__file__).parent / "assets" / "web_preview.html"
#: a long poll for the next frame answers "nothing new" after this long, so a stalled graph never
#: holds a browser request (or the server's thread) forever
FRAME_WAIT_S = 2.0
STATS_WINDOW_S = 2.0


class LatestFrame:
    """The newest JPEG and its number; readers wait for a newer one (one writer, many readers)."""

    def __init__(self):
        self._cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.number = 0
        self.capture_ts_ns = 0

    def publish(self, jpeg: bytes, capture_ts_ns: int) -> None:
        with self._cond:
            self.jpeg, self.capture_ts_ns = jpeg, capture_ts_ns
            self.number += 1
            self._cond.notify_all()

    def newer_than(self, number: int, timeout_s: float) -> tuple[bytes, int, int] | None:
        """(jpeg, number, capture_ts_ns) of a frame newer than ``number``, or None after timeout_s."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.number > number and self.jpeg is not None, timeout_s):
                return None
            return self.jpeg, self.number, self.capture_ts_ns


class WebPreviewSink(Node):
    """Encodes at most ``max_fps`` frames a second as JPEG (downscaled to ``max_width``) into
    ``self.latest``, which the server reads. Frames above the rate are skipped and counted, so a
    60 fps graph does not spend a core on JPEGs nobody sees.
    """

    inputs = {"frame": Frame}

    @dataclass(frozen=True)
    class Options:
        max_fps: float = 30.0
        max_width: int = 960
        quality: int = 80

        def __post_init__(self):
            check_ranges(self, max_fps=(Above(0), 120), max_width=(64, 7680), quality=(10, 100))

    def __init__(self, node_id: str, options: Any = None, type_name: str | None = None):
        super().__init__(node_id, options, type_name)
        self.latest = LatestFrame()     # exists before open(), so a server can hold it from the start
        self._next_due_ns = 0

    def process(self, ctx) -> None:
        packet = ctx.inputs["frame"]
        now = packet.capture_ts_ns       # the frame's own time: the rate follows the source's clock
        period = int(1e9 / self.options.max_fps)
        # a quarter period of slack: a source at exactly max_fps arrives with jitter and must not
        # lose every other frame to it
        if now < self._next_due_ns - period // 4:
            ctx.count("preview_skipped")
            return
        self._next_due_ns = max(self._next_due_ns, now - period // 2) + period
        image = packet.payload
        if image.shape[2] == 4:
            image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
        if image.shape[1] > self.options.max_width:
            height = round(image.shape[0] * self.options.max_width / image.shape[1])
            image = cv2.resize(image, (self.options.max_width, height), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.options.quality])
        if not ok:
            raise DeviceError(f"web preview: JPEG encoding failed for a {image.shape} frame")
        self.latest.publish(jpeg.tobytes(), packet.capture_ts_ns)


class WebPreviewServer:
    """The local page and its endpoints. ``looks`` maps a recipe name to the options of the nodes it
    sets ({node id: {option: value}}); switching sends them to the running graph.

    GET  /                  the page
    GET  /frame.jpg?after=N  the first frame newer than N (long poll); X-Frame-Number header; 204 if none
    GET  /stats             {"nodes": [...], "edges": [...], "recipe", "recipes": [...], "browser_fps"}
    POST /recipe            {"name": "poster"} -> switches the look live
    POST /client-stats      {"fps": 29.8}: the page reports the frame rate it shows
    """

    def __init__(self, *, sink_id: str = "preview", looks: dict[str, dict[str, dict]] | None = None,
                 current_look: str | None = None, host: str = "127.0.0.1", port: int = 0):
        self.sink_id = sink_id
        self.looks = dict(looks or {})
        self.current_look = current_look
        self.runner = None
        self.browser_fps: float | None = None
        self._samples: deque[tuple[float, dict[str, int]]] = deque()
        self._lock = threading.Lock()
        try:
            self._http = _QuietServer((host, port), _handler_for(self))
        except OSError as exc:
            raise DeviceError(f"web preview: cannot listen on {host}:{port}: {exc}") from exc
        self._http.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "WebPreviewServer":
        self._thread = threading.Thread(target=self._http.serve_forever, name="web-preview", daemon=True)
        self._thread.start()
        return self

    def attach(self, runner) -> None:
        """Give the server the running graph (a GraphRunner, after start())."""
        if self.sink_id not in runner.nodes:
            raise ConfigError(f"web preview: no node {self.sink_id!r} in the running graph "
                              f"(nodes: {', '.join(runner.nodes)})")
        self.runner = runner

    def close(self) -> None:
        if self._thread is not None:     # shutdown() would wait forever for a loop never started
            self._http.shutdown()
            self._thread.join(5)
        self._http.server_close()

    # -- what the endpoints do ------------------------------------------------------------------
    def latest(self) -> LatestFrame | None:
        runner = self.runner
        return runner.nodes[self.sink_id].latest if runner is not None else None

    def switch_look(self, name: str) -> None:
        """Send the look's node options to the running graph (only those that differ, so e.g. the
        model is not reloaded when only the composite changes)."""
        if name not in self.looks:
            raise ConfigError(f"unknown recipe {name!r} (expected one of: {', '.join(self.looks)})")
        runner = self.runner
        if runner is None:
            raise ConfigError("the graph is not running yet")
        for node_id, options in self.looks[name].items():
            node = runner.nodes.get(node_id)
            current = dataclasses.asdict(node.options) if node is not None else {}
            changed = {k: v for k, v in options.items() if current.get(k) != v}
            if changed:
                runner.set_options(node_id, changed)
        self.current_look = name

    def stats(self) -> dict:
        runner = self.runner
        out: dict[str, Any] = {"recipe": self.current_look, "recipes": list(self.looks),
                               "browser_fps": self.browser_fps, "nodes": [], "edges": []}
        if runner is None:
            return out
        now = time.monotonic()
        counts = {node_id: s.processed for node_id, s in runner.stats.nodes.items()}
        with self._lock:
            self._samples.append((now, counts))
            while len(self._samples) > 2 and now - self._samples[1][0] >= STATS_WINDOW_S:
                self._samples.popleft()
            then, before = self._samples[0]
        dt = now - then
        dropped_into: dict[str, int] = {}
        for name, stream in runner.streams.items():
            target = name.split("->", 1)[1].split(".", 1)[0]
            dropped_into[target] = dropped_into.get(target, 0) + stream.dropped
            out["edges"].append({"name": name, "dropped": stream.dropped, "pushed": stream.pushed})
        for node_id, s in runner.stats.nodes.items():
            recent = list(s.process_ns)[-120:]
            latency = list(s.latency_ns)[-120:]
            out["nodes"].append({
                "id": node_id, "type": s.type, "role": s.role, "packets": s.processed,
                "fps": round((counts[node_id] - before.get(node_id, 0)) / dt, 1) if dt > 0.2 else None,
                "process_ms_p50": _finite(percentile_ms(recent, 50)),
                "latency_ms_p50": _finite(percentile_ms(latency, 50)),
                "dropped": dropped_into.get(node_id, 0), "counters": dict(s.counters)})
        return out


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):   # a closed tab is not an error
            super().handle_error(request, client_address)


def _finite(value: float) -> float | None:
    return round(value, 2) if value == value else None   # NaN (no samples yet) -> null in JSON


def _handler_for(server: WebPreviewServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"     # keep-alive: one connection carries the whole frame loop

        def setup(self):
            super().setup()
            # headers and body leave in two writes: with Nagle's algorithm the body waits for the
            # browser's delayed ACK (40 ms), which capped the page at ~22 fps
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format, *args):   # noqa: A002 - the stdlib's name
            pass                                 # one line per frame would flood the terminal

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path == "/":
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.read_bytes())
            elif parts.path == "/frame.jpg":
                self._frame(parse_qs(parts.query))
            elif parts.path == "/stats":
                self._json(HTTPStatus.OK, server.stats())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no page {parts.path}"})

        def do_POST(self):
            path = urlsplit(self.path).path
            try:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if path == "/recipe":
                    server.switch_look(str(body.get("name")))
                    self._json(HTTPStatus.OK, {"recipe": server.current_look})
                elif path == "/client-stats":
                    server.browser_fps = float(body["fps"])
                    self._json(HTTPStatus.OK, {})
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": f"no endpoint {path}"})
            except (ValueError, KeyError, TypeError) as exc:   # ConfigError is a ValueError
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

        def _frame(self, query: dict) -> None:
            latest = server.latest()
            try:
                after = int(query.get("after", ["0"])[0])
            except ValueError:
                after = 0
            got = latest.newer_than(after, FRAME_WAIT_S) if latest is not None else None
            if got is None:
                if latest is None:
                    time.sleep(0.2)             # the graph is starting: the page asks again
                self._send(HTTPStatus.NO_CONTENT, "text/plain", b"")
                return
            jpeg, number, capture_ts_ns = got
            self._send(HTTPStatus.OK, "image/jpeg", jpeg, {"X-Frame-Number": str(number),
                                                           "X-Capture-Ts-Ns": str(capture_ts_ns)})

        def _json(self, status: HTTPStatus, data: dict) -> None:
            self._send(status, "application/json", json.dumps(data).encode())

        def _send(self, status: HTTPStatus, content_type: str, body: bytes,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass                            # the tab was closed mid-frame

    return Handler
