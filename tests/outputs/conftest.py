"""A real headless Chromium for the web preview tests, driven over the DevTools protocol (stdlib only).

Not for: anything but tests. The DevTools websocket needs only text frames, so a 60-line client
here replaces a websocket package. Without Chromium the tests FAIL (CI installs it), never skip.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1280,800", "--remote-debugging-port=0"]


def find_chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed: the web preview is tested in a real browser. "
                "Install Debian's package: `apt-get install -y chromium` (.ci/run does this when missing)",
                pytrace=False)


class DevTools:
    """One page's DevTools websocket: call(method, params) -> result, skipping events."""

    def __init__(self, ws_url: str):
        parts = urlsplit(ws_url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            reply += self.sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 101"), reply
        self.buffer = reply.split(b"\r\n\r\n", 1)[1]
        self.next_id = 0

    def _read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _send_text(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _receive_message(self) -> str:
        message = b""
        while True:
            first, second = self._read(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(length)
            message += payload
            if first & 0x80:          # FIN: the last fragment
                return message.decode()

    def call(self, method: str, **params):
        self.next_id += 1
        self._send_text(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self._receive_message())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools {method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def text(self, selector: str) -> str | None:
        """The element's text, None while the page has no such element (e.g. still loading)."""
        return self.evaluate(f"document.querySelector({json.dumps(selector)})?.textContent ?? null")

    def element_image(self, selector: str):
        """The element's pixels (BGR numpy array) cut out of a screenshot."""
        import cv2
        import numpy as np

        shot = cv2.imdecode(np.frombuffer(self.screenshot(), np.uint8), cv2.IMREAD_COLOR)
        x, y, w, h = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                                   f".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; }})()")
        return shot[round(y):round(y + h), round(x):round(x + w)]

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (press and release)."""
        box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def close(self) -> None:
        self.sock.close()


class Browser:
    def __init__(self, executable: str):
        self.profile = tempfile.mkdtemp(prefix="portraitflow-chromium-")
        self.proc = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        self.port = None
        while self.port is None:
            line = self.proc.stderr.readline()
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                self.port = int(found.group(1))
            elif not line and self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {self.proc.poll()})")
        # keep reading its log, or chromium blocks once the pipe is full
        self.log_reader = threading.Thread(target=self.proc.stderr.read, daemon=True)
        self.log_reader.start()
        self.pages: list[DevTools] = []

    def open(self, url: str) -> DevTools:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as response:
            targets = json.load(response)
        for target in targets:
            if target["type"] == "page":
                page = DevTools(target["webSocketDebuggerUrl"])
                self.pages.append(page)
                page.call("Page.enable")
                page.call("Page.navigate", url=url)
                return page
        raise RuntimeError("chromium has no page target")

    def close(self) -> None:
        for page in self.pages:
            page.close()
        self.proc.kill()
        self.proc.wait(10)
        self.log_reader.join(5)
        self.proc.stderr.close()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser():
    chromium = Browser(find_chromium())
    try:
        yield chromium
    finally:
        chromium.close()
