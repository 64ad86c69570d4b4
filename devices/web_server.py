"""Watch and steer the running graph in a browser, the server half: the pages and their endpoints.

Not for: encoding frames (devices/web_preview.py, the sink) or deciding what a change means
(devices/web_controls.py). stdlib http.server on 127.0.0.1 unless told otherwise; it serves the control
page (assets/web_preview.html), the OBS page (assets/web_preview_obs.html: the output alone, with its
alpha), the newest frame by long polling, per-node statistics, and the controls that change the running
graph live through GraphRunner.set_options. Every request passes devices/web_guard.py first.
    server = WebPreviewServer(looks={"blur": {"composite": {...}}, ...}).start(); server.attach(runner)
"""
from __future__ import annotations

import json
import math
import socket
import sys
import threading
import time
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import cv2

from ..graph import ConfigError, DeviceError, now_ns
from ..graph.stats import percentile_ms
from .web_controls import ControlSurface, RecipeSaver
from .web_guard import Refused, RequestGuard, expect_object, new_token, parse_json
from .web_preview import LatestFrame, WebPreviewSink

ASSETS = Path(__file__).parent / "assets"
PAGES = {"/": ASSETS / "web_preview.html", "/obs": ASSETS / "web_preview_obs.html"}
SCRIPTS = {"/frames.js": ASSETS / "web_preview_frames.js"}
#: a long poll for the next frame answers "nothing new" after this long, so a stalled graph never
#: holds a browser request (or the server's thread) forever
FRAME_WAIT_S = 2.0
STATS_WINDOW_S = 2.0
#: a client that sends nothing (or reads nothing) for this long loses its connection and its thread
CLIENT_TIMEOUT_S = 10.0
#: serving threads at most; a connection beyond them gets 503 at once (a page holds two or three)
MAX_THREADS = 32
SNAPSHOT_WAIT_S = 1.0
#: the pages' security headers: nothing but this server, no framing by another page, no referrer
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
                               "connect-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
CLIENT_KINDS = ("page", "obs")


class WebPreviewServer:
    """The pages and their endpoints. ``looks`` maps a recipe name to the options of the nodes it
    sets ({node id: {option: value}}); ``save_recipe`` writes the current settings as a recipe file.
    ``token`` (default: a new random one) is required for control, and for everything when ``host``
    is not a loopback address (or ``token_for_everything``). A client silent for ``client_timeout_s``
    is disconnected; at most ``max_threads`` connections are served at once.

    GET  /  /obs             the control page; the OBS Browser Source page (output and alpha only)
    GET  /frame.jpg?after=N   the first frame newer than N (long poll); X-Frame-Number, X-Capture-Ts-Ns,
                              X-Alpha-Rows (alpha stacked below the colour from this row) headers; 204 if none
    GET  /snapshot.png        the next frame at full resolution (with its alpha when it has one)
    GET  /stats  /controls  /clock   statistics; the settings offered; this server's clock (ns)
    POST /recipe {"name"}  /options {"node", "options"?, "settings"?}  /pause {"paused"}
    POST /save-recipe {"name"}  /client-stats {"client", "fps", "latency_ms_p50", "latency_ms_p99", ...}
    """

    def __init__(self, *, sink_id: str = "preview", looks: dict[str, dict[str, dict]] | None = None,
                 current_look: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, save_recipe: RecipeSaver | None = None,
                 max_threads: int = MAX_THREADS, client_timeout_s: float = CLIENT_TIMEOUT_S,
                 token_for_everything: bool | None = None):
        self.sink_id = sink_id
        self.client_timeout_s = client_timeout_s
        self.controls = ControlSurface(looks, current_look, save_recipe)
        self.token = token or new_token()
        self.runner = None
        self.clients: dict[str, dict[str, Any]] = {}
        self._samples: deque[tuple[float, dict[str, int]]] = deque()
        self._lock = threading.Lock()
        self.serve_cpu_ns = 0           # CPU time of the threads sending frames (for the figures)
        self.frames_served = 0
        self.deadlines = _RequestDeadlines(client_timeout_s)
        try:
            self._http = _BoundedServer((host, port), _handler_for(self), max_threads)
        except OSError as exc:
            self.deadlines.close()
            raise DeviceError(f"web preview: cannot listen on {host}:{port}: {exc}") from exc
        self.guard = RequestGuard(host, self._http.server_address[1], self.token,
                                  token_for_everything=token_for_everything)
        self._thread: threading.Thread | None = None

    @property
    def looks(self) -> dict[str, dict[str, dict]]:
        return self.controls.looks

    @property
    def current_look(self) -> str | None:
        return self.controls.current_look

    @property
    def url(self) -> str:
        """The page's address without the token (read-only on loopback)."""
        host, port = self._http.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}/"

    @property
    def control_url(self) -> str:
        """The page with the token: what to open to steer the run (printed at start)."""
        return f"{self.url}?token={self.token}"

    @property
    def obs_url(self) -> str:
        return f"{self.url}obs?token={self.token}"

    def start(self) -> WebPreviewServer:
        self._thread = threading.Thread(target=self._http.serve_forever, name="web-preview", daemon=True)
        self._thread.start()
        return self

    def attach(self, runner) -> None:
        """Give the server the running graph (a GraphRunner, after start())."""
        if self.sink_id not in runner.nodes:
            raise ConfigError(f"web preview: no node {self.sink_id!r} in the running graph "
                              f"(nodes: {', '.join(runner.nodes)})")
        self.runner = runner
        self.controls.runner = runner

    def close(self) -> None:
        if self._thread is not None:     # shutdown() would wait forever for a loop never started
            self._http.shutdown()
            self._thread.join(5)
        self._http.server_close()
        self.deadlines.close()

    # -- what the endpoints do ------------------------------------------------------------------
    def sink(self) -> WebPreviewSink | None:
        runner = self.runner
        return runner.nodes[self.sink_id] if runner is not None else None   # type: ignore[return-value]

    def latest(self) -> LatestFrame | None:
        sink = self.sink()
        return sink.latest if sink is not None else None

    def switch_look(self, name: str) -> None:
        self.controls.switch_look(name)

    def report_client(self, data: dict) -> None:
        client = data.get("client", "page")
        if client not in CLIENT_KINDS:
            raise Refused(HTTPStatus.BAD_REQUEST, f"field 'client': expected one of "
                                                  f"{', '.join(CLIENT_KINDS)}, "
                                                  f"got {client!r}")
        reading = {k: (round(float(v), 2) if v is not None else None)
                   for k, v in data.items() if k != "client"}
        if any(v is not None and v < 0 for v in reading.values()):
            raise Refused(HTTPStatus.BAD_REQUEST, "client statistics are never negative")
        with self._lock:
            self.clients[client] = {**reading, "at": time.monotonic()}

    @property
    def browser_fps(self) -> float | None:
        return self.clients.get("page", {}).get("fps")

    def stats(self) -> dict:
        runner = self.runner
        now = time.monotonic()
        with self._lock:
            clients = {k: {n: v for n, v in c.items() if n != "at"} for k, c in self.clients.items()
                       if now - c["at"] < 5.0}
            served = self.frames_served
            cpu_ms = self.serve_cpu_ns / 1e6 / served if served else None
        out: dict[str, Any] = {"recipe": self.controls.current_look, "modified": self.controls.modified,
                               "recipes": list(self.controls.looks), "version": self.controls.version,
                               "browser_fps": clients.get("page", {}).get("fps"), "clients": clients,
                               "serve_cpu_ms_per_frame": _finite(cpu_ms) if cpu_ms is not None else None,
                               "paused": bool(runner and runner.paused), "nodes": [], "edges": [],
                               "undone_changes": dict(runner.undone_changes) if runner else {}}
        if runner is None:
            return out
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

    def snapshot_png(self) -> bytes:
        sink = self.sink()
        image = sink.snapshot.take(SNAPSHOT_WAIT_S) if sink is not None else None
        if image is None:
            raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, "no frame yet: the graph is starting")
        ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        if not ok:
            raise DeviceError(f"web preview: PNG encoding failed for a {image.shape} frame")
        return png.tobytes()


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_threads``: one more gets 503 and is closed at once."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type, max_threads: int):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self._slots = threading.BoundedSemaphore(max_threads)
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            _answer_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):   # a closed tab, a slow client
            print(f"web preview: {type(error).__name__}: {error}", file=sys.stderr)   # one line, no traceback


class _RequestDeadlines:
    """A request's head and body must arrive within ``limit_s`` in all, not only with no silence that
    long: a client dripping a byte at a time (slowloris) is cut off too. One watchdog thread."""

    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="web-preview-deadlines", daemon=True)
        self._thread.start()

    def arm(self, sock: socket.socket) -> None:
        with self._lock:
            self._due[sock] = time.monotonic() + self.limit_s

    def disarm(self, sock: socket.socket) -> None:
        with self._lock:
            self._due.pop(sock, None)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(2)

    def _watch(self) -> None:
        while not self._closed.wait(min(0.25, self.limit_s / 4)):
            now = time.monotonic()
            with self._lock:
                late = [sock for sock, due in self._due.items() if due < now]
                for sock in late:
                    del self._due[sock]
            for sock in late:
                try:
                    sock.shutdown(socket.SHUT_RDWR)      # its blocked read returns: the thread is free
                except OSError:
                    pass


def _answer_busy(request: socket.socket) -> None:
    body = b'{"error": "too many connections to the preview; try again"}'
    try:
        request.settimeout(0.5)
        request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        b"Connection: close\r\nRetry-After: 1\r\nContent-Length: %d\r\n\r\n%s"
                        % (len(body), body))
    except OSError:
        pass


def _finite(value: float | None) -> float | None:
    return round(value, 2) if value is not None and math.isfinite(value) else None   # NaN -> null in JSON


#: POST endpoints: the fields each accepts (name -> JSON types) and those it requires
_NUMBER = (int, float)
_OPTIONAL_NUMBER = (int, float, type(None))
_BODIES = {
    "/recipe": ({"name": (str,)}, ("name",)),
    "/options": ({"node": (str,), "options": (dict,), "settings": (dict,)}, ("node",)),
    "/pause": ({"paused": (bool,)}, ("paused",)),
    "/save-recipe": ({"name": (str,)}, ("name",)),
    "/client-stats": ({"client": (str,), "fps": _NUMBER, "latency_ms_p50": _OPTIONAL_NUMBER,
                       "latency_ms_p99": _OPTIONAL_NUMBER, "frames": _NUMBER}, ()),
}


def _handler_for(server: WebPreviewServer) -> type[BaseHTTPRequestHandler]:
    guard_of = lambda: server.guard

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"     # keep-alive: one connection carries the whole frame loop
        timeout = server.client_timeout_s   # every read and write on the connection (slow clients)
        server_version = "portraitflow"
        sys_version = ""

        def setup(self):
            super().setup()
            # headers and body leave in two writes: with Nagle's algorithm the body waits for the
            # browser's delayed ACK (40 ms), which capped the page at ~22 fps
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._unread_body = False

        def log_message(self, format, *args):
            pass                                 # one line per frame would flood the terminal

        # -- routing ------------------------------------------------------------------------
        def handle_one_request(self):
            server.deadlines.arm(self.request)      # the request line, headers and body: in time
            try:
                super().handle_one_request()
            finally:
                server.deadlines.disarm(self.request)

        def do_GET(self):
            server.deadlines.disarm(self.request)   # all in: a long poll may now take its time
            self._serve(self._get)

        def do_POST(self):
            self._serve(self._post)

        def handle_expect_100(self):
            # curl asks before sending a big body: refuse it before it is sent, not after
            try:
                self._check_common()
                guard_of().check_control(self.headers, self._query())
                guard_of().body_length(self.headers)
            except Refused as refused:
                self._unread_body = True
                self._json(refused.status, {"error": refused.reason})
                self.close_connection = True    # what follows on this connection is the refused body
                return False
            return super().handle_expect_100()

        def _query(self) -> dict[str, list[str]]:
            return parse_qs(urlsplit(self.path).query)

        def _check_common(self) -> None:
            guard = guard_of()
            guard.check_host(self.headers)
            guard.check_site(self.headers)
            if guard.token_for_everything:
                guard.check_token(self.headers, self._query())

        def _serve(self, route) -> None:
            try:
                self._check_common()
                route(urlsplit(self.path).path, self._query())
            except Refused as refused:
                self._json(refused.status, {"error": refused.reason})
            except ConfigError as exc:     # a value the node's options refuse: the look is unchanged
                self._json(HTTPStatus.BAD_REQUEST, {"error": " ".join(str(exc).split())})
            except (ConnectionError, TimeoutError):
                self.close_connection = True
            except Exception as exc:   # noqa: BLE001 - a bug must cost one response, not the server
                print(f"web preview: {self.command} {urlsplit(self.path).path}: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(exc).__name__}: {exc}"[:300]})
            if self._unread_body:
                self.close_connection = True

        def _get(self, path: str, query: dict) -> None:
            if path in PAGES:
                self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGES[path].read_bytes(), PAGE_HEADERS)
            elif path in SCRIPTS:
                self._send(HTTPStatus.OK, "text/javascript; charset=utf-8", SCRIPTS[path].read_bytes(),
                           {"X-Content-Type-Options": "nosniff"})
            elif path == "/frame.jpg":
                self._frame(query)
            elif path == "/stats":
                self._json(HTTPStatus.OK, server.stats())
            elif path == "/controls":
                self._json(HTTPStatus.OK, server.controls.describe() if server.runner else {"nodes": []})
            elif path == "/clock":
                self._json(HTTPStatus.OK, {"now_ns": now_ns()})
            elif path == "/snapshot.png":
                self._send(HTTPStatus.OK, "image/png", server.snapshot_png(),
                           {"Content-Disposition": 'attachment; filename="portraitflow-snapshot.png"'})
            else:
                raise Refused(HTTPStatus.NOT_FOUND, f"no page {path}")

        def _post(self, path: str, query: dict) -> None:
            if path not in _BODIES:
                self._unread_body = True
                raise Refused(HTTPStatus.NOT_FOUND, f"no endpoint {path}")
            self._unread_body = True            # until it is read: refusals close the connection
            guard_of().check_control(self.headers, query)
            length = guard_of().body_length(self.headers)
            try:
                body = self.rfile.read(length)
            except TimeoutError:
                raise Refused(HTTPStatus.REQUEST_TIMEOUT, "the body did not arrive in time") from None
            if len(body) < length:
                raise Refused(HTTPStatus.BAD_REQUEST, "the body ended before Content-Length")
            self._unread_body = False
            server.deadlines.disarm(self.request)
            fields, required = _BODIES[path]
            data = expect_object(parse_json(body or b"null"), fields, required)
            if path == "/recipe":
                server.controls.switch_look(data["name"])
                self._json(HTTPStatus.OK, {"recipe": server.controls.current_look})
            elif path == "/options":
                if "options" not in data and "settings" not in data:
                    raise Refused(HTTPStatus.BAD_REQUEST, "expected 'options' or 'settings' to change")
                self._json(HTTPStatus.OK, server.controls.set_options(
                    data["node"], data.get("options"), data.get("settings")))
            elif path == "/pause":
                server.controls.set_paused(data["paused"])
                self._json(HTTPStatus.OK, {"paused": data["paused"]})
            elif path == "/save-recipe":
                written = server.controls.save_recipe(data["name"])
                self._json(HTTPStatus.OK, {"path": str(written)})
            else:
                server.report_client(data)
                self._json(HTTPStatus.OK, {})

        def _frame(self, query: dict) -> None:
            latest = server.latest()
            try:
                after = int(query.get("after", ["0"])[0])
            except ValueError:
                raise Refused(HTTPStatus.BAD_REQUEST, "after: expected a frame number") from None
            got = latest.newer_than(after, FRAME_WAIT_S) if latest is not None else None
            if got is None:
                if latest is None:
                    time.sleep(0.2)             # the graph is starting: the page asks again
                self._send(HTTPStatus.NO_CONTENT, "text/plain", b"")
                return
            start = time.thread_time_ns()
            jpeg, number, capture_ts_ns, alpha_rows = got
            self._send(HTTPStatus.OK, "image/jpeg", jpeg, {"X-Frame-Number": str(number),
                                                           "X-Capture-Ts-Ns": str(capture_ts_ns),
                                                           "X-Alpha-Rows": str(alpha_rows)})
            with server._lock:
                server.serve_cpu_ns += time.thread_time_ns() - start
                server.frames_served += 1

        # -- answers ------------------------------------------------------------------------
        def _json(self, status: HTTPStatus, data: dict) -> None:
            self._send(status, "application/json", json.dumps(data, allow_nan=False).encode())

        def _send(self, status: HTTPStatus, content_type: str, body: bytes,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if self._unread_body:
                self.send_header("Connection", "close")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True        # the tab was closed mid-frame

        def finish(self):
            try:
                super().finish()
            finally:
                if self._unread_body:
                    _drain(self.request)

    return Handler


def _drain(sock: socket.socket, limit_bytes: int = 1 << 30, limit_s: float = 3.0) -> None:
    """After refusing a body unread: stop sending, then read and discard what the client still sends
    (bounded), so it reads our answer instead of a reset connection. Nothing is kept in memory."""
    try:
        sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + limit_s
        buffer = bytearray(1 << 16)
        received = 0
        while received < limit_bytes and time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            n = sock.recv_into(buffer)
            if not n:
                break
            received += n
    except OSError:
        pass
