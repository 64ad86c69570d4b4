"""`portraitflow run --trace` and `--preview web` on the real recipe chain (real model, real browser)."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np

from portraitflow.cli.main import main

CHAIN = ["capture", "downscale", "segment", "smooth", "fringe", "composite", "output"]


def test_run_trace_has_every_nodes_spans(tmp_path, capsys):
    trace = tmp_path / "run.json"
    assert main(["run", "--max-frames", "12", "--output", "null", "--trace", str(trace)]) == 0
    assert f"trace: {trace}" in capsys.readouterr().err
    data = json.loads(trace.read_text())
    spans = [e for e in data["traceEvents"] if e["ph"] == "X"]
    counts = {node: sum(1 for e in spans if e["name"] == node) for node in CHAIN}
    assert counts == {node: 12 for node in CHAIN}
    threads = {e["args"]["name"] for e in data["traceEvents"] if e["name"] == "thread_name"}
    assert "segment (segment)" in threads
    # one packet's spans follow the chain's order on one clock
    last_capture = spans[-1]["args"]["capture_ts_ns"]
    first = {e["name"]: e for e in spans if e["args"].get("capture_ts_ns") == last_capture}
    starts = [first[node]["ts"] for node in CHAIN[1:]]
    assert starts == sorted(starts)


def wait_for(check, timeout_s=15.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance of the two images' BGR histograms (0 same, 1 disjoint)."""
    hists = [cv2.calcHist([image], [0, 1, 2], None, [8, 8, 8], [0, 256] * 3) for image in (a, b)]
    return cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_BHATTACHARYYA)


def test_run_preview_web_switches_the_recipe_live(browser):
    proc = subprocess.Popen([sys.executable, "-m", "portraitflow", "run", "--preview", "web", "--port", "0",
                             "--output", "null", "--quiet"], stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        found = re.search(r"preview: (http://\S+)", line)
        assert found, f"no preview URL printed: {line!r}"
        page = browser.open(found.group(1))
        wait_for(lambda: int(page.text("#frame-number") or 0) > 10, timeout_s=30,
                 what="frames from the real chain")
        wait_for(lambda: page.evaluate("document.querySelectorAll('#recipes button').length") >= 5,
                 what="the bundled recipes as buttons")
        assert page.text("#current-recipe") == "blur"
        blur_a = page.element_image('#frame')
        time.sleep(0.5)
        blur_b = page.element_image('#frame')
        page.click("#recipe-poster")
        wait_for(lambda: page.text("#current-recipe") == "poster",
                 what="the page to show the poster recipe")
        # colour distributions barely move with the camera but change with the look (the poster's
        # first frame waits for its plate and type to be made: on a loaded machine that takes a while)
        same_look = colour_distance(blur_a, blur_b)
        seen = []

        def shows_the_poster():
            seen.append(colour_distance(blur_b, page.element_image('#frame')))
            return seen[-1] > 3 * same_look and seen[-1] > 0.3
        wait_for(shows_the_poster, timeout_s=20, what=f"the poster look (blur vs blur: {same_look:.3f})")
        assert proc.poll() is None                      # the same graph, still running
    finally:
        proc.send_signal(signal.SIGINT)                 # Ctrl-C: a clean stop
        try:
            proc.wait(20)
        finally:
            proc.kill()
            proc.stderr.close()
    assert proc.returncode == 130
