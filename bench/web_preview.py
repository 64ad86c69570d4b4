"""Figures for the web preview: capture-to-screen latency in the control page and the OBS page, and the
server's CPU per frame, at 720p30 in a real headless Chromium.

Not for: tests (nothing here is asserted). The pages measure the latency themselves (the frame's capture
time on the server's clock, against the animation frame that paints it) and report it; this script reads
those reports. Three graphs: the preview alone (sample -> sink: the cost of the page path), a fixed
cut-out (BGRA frames without the model: the alpha path's cost) and the standard chain with the model and
a transparent look (replace, background = transparent: what OBS shows).
    python bench/web_preview.py [--seconds 15]
"""
from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time

import cv2
import numpy as np

from portraitflow.devices.endpoints import source_for
from portraitflow.devices.web_server import WebPreviewServer
from portraitflow.graph import Frame, Node, registry
from portraitflow.graph.runner import GraphRunner
from portraitflow.graph.spec import GraphSpec
from portraitflow.graph.stats import percentile_ms
from portraitflow.recipes.loader import load_recipe, recipe_graph


def preview_only() -> GraphSpec:
    return (GraphSpec(name="bench-preview")
            .add("capture", "sample_source", frames=100_000, fps=30.0, realtime=True)
            .add("preview", "web_preview_sink")
            .connect("capture.frame", "preview.frame"))


class FixedCutout(Node):
    """BGRA out: the frame with a fixed elliptical alpha (the page's alpha path without the model's cost)."""

    inputs = {"frame": Frame}
    outputs = {"frame": Frame}

    def process(self, ctx):
        packet = ctx.inputs["frame"]
        frame = packet.payload
        h, w = frame.shape[:2]
        alpha = np.zeros((h, w), np.uint8)
        cv2.ellipse(alpha, (w // 2, h // 2), (w // 6, h // 3), 0, 0, 360, 255, -1)
        ctx.emit("frame", packet.derive(cv2.merge((*cv2.split(frame), alpha))))


registry.register("bench_fixed_cutout", FixedCutout)


def preview_with_alpha() -> GraphSpec:
    return (GraphSpec(name="bench-preview-alpha")
            .add("capture", "sample_source", frames=100_000, fps=30.0, realtime=True)
            .add("cutout", "bench_fixed_cutout")
            .add("preview", "web_preview_sink")
            .connect("capture.frame", "cutout.frame")
            .connect("cutout.frame", "preview.frame"))


def transparent_chain() -> GraphSpec:
    source = source_for("sample")
    spec = recipe_graph(load_recipe("replace"), source=(source[0], {**source[1], "frames": 100_000, "fps": 30.0,
                                                                    "realtime": True}),
                        sink=("null_sink", {}), settings={"background": "transparent"})
    spec.add("preview", "web_preview_sink")
    spec.connect("composite.frame", "preview.frame")
    return spec


def measure(name: str, spec: GraphSpec, page: str, client: str, seconds: float) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    server = WebPreviewServer(sink_id="preview").start()
    runner = GraphRunner(spec).start()
    server.attach(runner)
    url = server.control_url if page == "page" else server.obs_url
    profile = tempfile.mkdtemp(prefix="portraitflow-bench-")
    browser = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                                "--disable-sync", "--window-size=1600,900", f"--user-data-dir={profile}",
                                "--remote-debugging-port=0", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(4.0)                          # start-up: model, first frames, the page's clock sync
        cpu0 = _cpu_s()
        frames0 = runner.stats.nodes["preview"].processed
        time.sleep(seconds)
        cpu = _cpu_s() - cpu0
        frames = runner.stats.nodes["preview"].processed - frames0
        report = server.stats()["clients"].get(client, {})
        serve = server.stats()["serve_cpu_ms_per_frame"]
    finally:
        browser.kill()
        browser.wait()
        runner.stop()
        runner.wait(10)
        server.close()
        shutil.rmtree(profile, ignore_errors=True)
    sink = runner.stats.nodes["preview"]
    print(f"{name:<44} shown {report.get('fps', 0):5.1f} fps  capture->screen p50 "
          f"{report.get('latency_ms_p50') or float('nan'):6.1f} ms  p99 {report.get('latency_ms_p99') or float('nan'):6.1f} ms"
          f"  | sink encode p50 {percentile_ms(list(sink.process_ns), 50):5.2f} ms, serving {serve or 0:.2f} ms CPU"
          f"/frame; whole process {cpu / max(frames, 1) * 1000:5.1f} ms CPU/frame")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--only", choices=["preview", "alpha", "chain"], help="one of the three graphs")
    args = parser.parse_args()
    print("720p30 sample, headless Chromium (--disable-gpu); measured on a shared, loaded 2-core machine")
    if args.only in (None, "preview"):
        measure("preview only, control page", preview_only(), "page", "page", args.seconds)
        measure("preview only, OBS page (no alpha)", preview_only(), "obs", "obs", args.seconds)
    if args.only in (None, "alpha"):
        measure("fixed cut-out (BGRA), control page", preview_with_alpha(), "page", "page", args.seconds)
        measure("fixed cut-out (BGRA), OBS page", preview_with_alpha(), "obs", "obs", args.seconds)
    if args.only in (None, "chain"):
        measure("replace+transparent chain, control page", transparent_chain(), "page", "page", args.seconds)
        measure("replace+transparent chain, OBS page", transparent_chain(), "obs", "obs", args.seconds)


if __name__ == "__main__":
    main()
