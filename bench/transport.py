"""Print what links cost: 720p per-frame transport time over ipc and tcp, frames/s, a split graph's
frames/s against the same graph in one process, imagezmq as a peer baseline, age under a slow consumer.

Not for: tests (nothing is asserted). Run: .venv/bin/python bench/transport.py [--frames N]
imagezmq is optional: `pip install --no-deps --target /tmp/imagezmq_pkg imagezmq` (never in pyproject).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
IMAGEZMQ_PATH = "/tmp/imagezmq_pkg"
WIDTH, HEIGHT = 1280, 720


def test_frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((HEIGHT, WIDTH, 3)) * 255).astype(np.uint8)


# -- roles run in a child process ----------------------------------------------------------------
def role_receiver(address: str, frames: int, slow_s: float, window: int) -> None:
    """Receive ``frames`` packets; print per-frame transport time (sender_ts -> decoded) and age."""
    from portraitflow.graph.packet import now_ns
    from portraitflow.graph.transport.codecs import PayloadDecoder
    from portraitflow.graph.transport.link import LinkReceiver, LinkSettings

    receiver = LinkReceiver(LinkSettings(address, bind=True, stream="bench"), window=window).start()
    decoder = PayloadDecoder()
    transport_ns, age_ns, got, first, last = [], [], 0, None, None
    deadline = time.monotonic() + 120
    while got < frames and time.monotonic() < deadline:
        item = receiver.take(0.5)
        if item is None:
            continue
        kind, header, frame, _ = item
        if kind != "data":
            receiver.done()
            break
        receiver.answer_shm_offer(header, decoder.can_map_shm)          # as link_in does
        array = decoder.decode(header, frame.buffer)   # shm: one preadv out of the sender's slot
        now = now_ns()
        transport_ns.append(now - header["sender_ts_ns"])
        age_ns.append(now - header["capture_ts_ns"])
        first = first or time.perf_counter()
        last = time.perf_counter()
        got += 1
        if slow_s:
            time.sleep(slow_s)
        del array
        receiver.done()
    receiver.close()
    print(json.dumps({"got": got, "transport_ns": transport_ns, "age_ns": age_ns,
                      "seconds": (last - first) if first and last else 0.0, **receiver.counters}))


def role_imagezmq_hub(address: str, frames: int) -> None:
    sys.path.insert(0, IMAGEZMQ_PATH)
    import imagezmq

    hub = imagezmq.ImageHub(open_port=address, REQ_REP=True)
    got, first = 0, None
    while got < frames:
        _, _image = hub.recv_image()
        hub.send_reply(b"OK")
        first = first or time.perf_counter()
        got += 1
    print(json.dumps({"got": got, "seconds": time.perf_counter() - first}))


# -- measurements in the parent --------------------------------------------------------------------
def child(*args: str, stderr: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE), "--role", *args], stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.PIPE if stderr else None)


def link_run(address: str, frames: int, fps: float, *, slow_s: float = 0.0, window: int = 2,
             block: bool = True, codec: str = "raw") -> dict:
    from portraitflow.graph.packet import Packet, now_ns
    from portraitflow.graph.transport.codecs import make_encoder
    from portraitflow.graph.transport.link import LinkSender, LinkSettings

    receiver = child("receiver", address, str(frames), str(slow_s), str(window))
    sender = LinkSender(LinkSettings(address, bind=False, stream="bench"),
                        make_encoder(codec), block=block).start()
    frame = test_frame()
    start = time.perf_counter()
    offered = 0
    while receiver.poll() is None and offered < frames * 20:
        if fps:
            time.sleep(max(0.0, start + offered / fps - time.perf_counter()))
        sender.offer(Packet(frame, now_ns(), offered))
        offered += 1
        if block and sender.counters.get("link_sent", 0) >= frames:
            break
    out, _ = receiver.communicate(timeout=120)
    sender.close()
    result = json.loads(out)
    result["sender_dropped"] = sender.counters.get("link_dropped", 0)
    return result


def ms(samples_ns: list[int], q: float) -> float:
    return float(np.percentile(np.asarray(samples_ns, np.int64), q)) / 1e6 if samples_ns else float("nan")


def unpaced_fps(address: str, frames: int, codec: str, runs: int = 3) -> list[float]:
    """Frames/s of ``runs`` unpaced runs of ``frames`` frames (window 4), first to last arrival."""
    rates = []
    for _ in range(runs):
        result = link_run(address, frames, 0.0, window=4, codec=codec)
        rates.append(result["got"] / max(result["seconds"], 1e-9))
    return rates


def median(values: list[float]) -> float:
    return float(np.median(values))


def transport_cost(frames: int, unpaced_frames: int) -> None:
    print(f"== 1280x720 frames over a link: per-frame cost at 60 fps ({frames} frames, window 2); "
          f"unpaced frames/s (window 4, median of 3 runs of {unpaced_frames})")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, address, codec in (("ipc raw", f"ipc://{tmp}/bench", "raw"),
                                     ("tcp raw", "tcp://127.0.0.1:5771", "raw"),
                                     ("ipc shm", f"ipc://{tmp}/bench", "shm"),
                                     ("tcp-loopback shm", "tcp://127.0.0.1:5771", "shm")):
            paced = link_run(address, frames, 60.0, codec=codec)
            runs = unpaced_fps(address, unpaced_frames, codec)
            rates[name] = median(runs)
            print(f"{name}: per-frame transport (send -> array in the receiver) p50 "
                  f"{ms(paced['transport_ns'], 50):.2f} ms p99 {ms(paced['transport_ns'], 99):.2f} ms; "
                  f"unpaced {rates[name]:.0f} frames/s (runs {', '.join(f'{r:.0f}' for r in runs)})")


def imagezmq_fps(connect: str, bind: str, frames: int) -> float:
    sys.path.insert(0, IMAGEZMQ_PATH)
    import imagezmq

    hub = child("imagezmq", bind, str(frames))
    sender = imagezmq.ImageSender(connect_to=connect, REQ_REP=True)
    frame = test_frame()
    for _ in range(frames):          # REQ/REP: one reply per image, so send exactly what the hub takes
        sender.send_image("bench", frame)
    result = json.loads(hub.communicate(timeout=120)[0])
    sender.close()
    return result["got"] / max(result["seconds"], 1e-9)


def imagezmq_baseline(frames: int, rounds: int = 5) -> None:
    """imagezmq and this link in alternating runs (so both meet the same machine load), medians."""
    if not Path(IMAGEZMQ_PATH, "imagezmq").is_dir():
        print("== imagezmq: not installed (see the module docstring), skipped")
        return
    rates: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"imagezmq tcp": lambda: imagezmq_fps("tcp://127.0.0.1:5772", "tcp://*:5772", frames),
                "imagezmq ipc": lambda: imagezmq_fps(f"ipc://{tmp}/iz", f"ipc://{tmp}/iz", frames),
                "this link, tcp raw": lambda: unpaced_fps("tcp://127.0.0.1:5773", frames, "raw", 1)[0],
                "this link, ipc shm": lambda: unpaced_fps(f"ipc://{tmp}/ours", frames, "shm", 1)[0],
                "this link, tcp-loopback shm":
                    lambda: unpaced_fps("tcp://127.0.0.1:5774", frames, "shm", 1)[0]}
        for _ in range(rounds):
            for name, run in runs.items():
                rates.setdefault(name, []).append(run())
    best = max(median(rates["imagezmq tcp"]), median(rates["imagezmq ipc"]))
    print(f"== imagezmq ImageSender/ImageHub (REQ/REP) against this link, same 720p frames, {rounds} alternating "
          f"rounds of {frames} frames each, median frames/s (all runs):")
    for name, values in rates.items():
        extra = "" if name.startswith("imagezmq") else f" = {median(values) / best:.2f}x imagezmq's best"
        print(f"   {name}: {median(values):.0f}{extra} ({', '.join(f'{v:.0f}' for v in values)})")


def slow_consumer(frames: int) -> None:
    print("== slow consumer: 60 fps 720p producer, 25 fps consumer (40 ms a frame), policy latest, window 1")
    with tempfile.TemporaryDirectory() as tmp:
        result = link_run(f"ipc://{tmp}/slow", frames, 60.0, slow_s=0.04, window=1, block=False)
    print(f"link alone, frame age when the consumer takes it: p50 {ms(result['age_ns'], 50):.1f} ms "
          f"p95 {ms(result['age_ns'], 95):.1f} ms (consumer period 40 ms); "
          f"sender dropped {result['sender_dropped']} (counted), delivered {result['got']}")


SLOW_GRAPH = """
[graph]
name = "bench_slow"
[nodes.capture]
type = "sample_source"
part = "phone"
options = {{ frames = {frames}, fps = 60.0, realtime = true }}
[nodes.work]
type = "t_slow"
part = "companion"
inputs = {{ frame = "capture.frame" }}
options = {{ seconds = 0.04 }}
[nodes.output]
type = "null_sink"
part = "companion"
inputs = {{ frame = "work.frame" }}
"""


def role_part(graph: str, part: str, flag: str, address: str) -> int:
    """Run one part (flag: bind or connect) of a graph with the test suite's small nodes registered
    (``t_slow``: a stage that sleeps, tests/support/graph_nodes.py)."""
    sys.path.insert(0, str(HERE.parents[1] / "tests"))
    from portraitflow.cli.main import main as cli_main

    import support.graph_nodes  # noqa: F401 - registers the t_* node types
    return cli_main(["run", "--graph", graph, "--part", part, f"--{flag}", address])


def slow_consumer_split(frames: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp, "slow.toml")
        graph.write_text(SLOW_GRAPH.format(frames=frames), encoding="utf-8")
        address = f"ipc://{tmp}/slow"
        companion = child("part", str(graph), "companion", "bind", address, stderr=True)
        time.sleep(1.0)
        phone = child("part", str(graph), "phone", "connect", address, stderr=True)
        phone_err = phone.communicate(timeout=120)[1]
        companion_err = companion.communicate(timeout=120)[1]
    found = re.search(r"latency ms: p50 ([\d.]+)\s+p95 ([\d.]+)", companion_err)
    if phone.returncode or companion.returncode or not found:
        print("slow split failed:", phone_err[-400:], companion_err[-400:])
        return
    p50, p95 = float(found.group(1)), float(found.group(2))
    worked = re.search(r"^work\s+t_slow\s+(\d+)", companion_err, re.MULTILINE).group(1)
    print(f"split graph (phone: 720p camera at 60 fps | companion: 40 ms stage -> sink): capture->sink "
          f"p50 {p50:.1f} ms p95 {p95:.1f} ms, of which 40 ms is the stage itself, so frames are "
          f"{(p50 - 40) / 40:.2f} / {(p95 - 40) / 40:.2f} consumer periods old when it starts on them "
          f"(goal <= 2); {worked} of {frames} frames consumed, the rest dropped and counted")


STRESS_GRAPH = """
[graph]
name = "bench_split"
policy = "block"
[nodes.capture]
type = "sample_source"
part = "phone"
options = {{ frames = {frames}, fps = 60.0, realtime = {realtime} }}
[nodes.shrink]
type = "downscale"
part = "companion"
inputs = {{ frame = "capture.frame" }}
options = {{ max_width = 640, max_height = 360 }}
[nodes.output]
type = "null_sink"
part = "companion"
inputs = {{ frame = "shrink.frame" }}
"""


def recipe_graph_text(frames: int, realtime: bool) -> str:
    """The product's chain (recipe blur) with the camera on the phone and every stage on the companion."""
    from portraitflow.recipes.loader import load_recipe, recipe_graph

    spec = recipe_graph(load_recipe("blur"), source=("sample_source", {"frames": frames, "fps": 60.0,
                                                                       "realtime": realtime}),
                        sink=("null_sink", {}))
    spec.policy = "auto" if realtime else "block"     # live: latest (drop stale frames); else: every frame
    for node in spec.nodes.values():
        node.part = "phone" if node.id == "capture" else "companion"
    return spec.to_toml()


def steady_fps(trace: Path, node: str = "output") -> float:
    """Frames/s at ``node`` between its 10th and 90th percentile packet (start-up and drain left out)."""
    events = json.loads(trace.read_text(encoding="utf-8"))
    events = events["traceEvents"] if isinstance(events, dict) else events
    ends = sorted(e["ts"] + e.get("dur", 0) for e in events if e.get("ph") == "X" and e.get("name") == node)
    first, last = len(ends) // 10, len(ends) * 9 // 10
    return (last - first) / max((ends[last] - ends[first]) / 1e6, 1e-9)


def latency(summary: str) -> str:
    found = re.search(r"latency ms: p50 ([\d.]+)\s+p95 [\d.]+\s+p99 ([\d.]+)", summary)
    return f"{found.group(1)}/{found.group(2)}" if found else "?"


Rate = tuple[float, str]      # steady frames/s, capture->sink latency "p50/p99"


def split_vs_whole(graph_text: str, codecs: tuple[str, ...]) -> tuple[Rate, dict[str, Rate]]:
    """(steady frames/s, capture->sink latency p50/p99 ms) of the graph in one process and split
    (phone | companion over ipc) per codec."""
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp, "g.toml")
        graph.write_text(graph_text, encoding="utf-8")
        run = [sys.executable, "-m", "portraitflow.cli.main", "run", "--graph", str(graph)]
        whole_trace = Path(tmp, "whole.json")
        whole = subprocess.run([*run, "--trace", str(whole_trace)], capture_output=True, text=True, timeout=600,
                               check=True)
        split = {}
        for codec in codecs:
            address, trace = f"ipc://{tmp}/split-{codec}", Path(tmp, f"{codec}.json")
            companion = subprocess.Popen([*run, "--part", "companion", "--bind", address, "--trace", str(trace)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            phone = subprocess.run([*run, "--part", "phone", "--connect", address, "--codec", codec],
                                   capture_output=True, text=True, timeout=600)
            err = companion.communicate(timeout=600)[1]
            if phone.returncode or companion.returncode:
                raise RuntimeError(f"split run failed: {phone.stderr[-400:]} {err[-400:]}")
            split[codec] = (steady_fps(trace), latency(err))
        return (steady_fps(whole_trace), latency(whole.stderr)), split


def split_ratio(frames: int, paced_frames: int, rounds: int = 3) -> None:
    cases = (("recipe blur (camera | downscale, segment, smooth, fringe, composite, sink)",
              lambda n, live: recipe_graph_text(n, live)),
             ("stress graph (camera | downscale 640x360 -> sink: nearly all cost is moving frames)",
              lambda n, live: STRESS_GRAPH.format(frames=n, realtime=str(live).lower())))
    print(f"== split pipeline over ipc vs the same graph in one process: steady frames/s at the sink "
          f"(10th-90th percentile frame, from --trace; unpaced: median of {rounds} alternating rounds), "
          f"capture->sink latency p50/p99 ms")
    for name, text in cases:
        for live, n in ((False, frames), (True, paced_frames)):
            results = [split_vs_whole(text(n, live), ("raw", "shm")) for _ in range(1 if live else rounds)]
            whole = median([r[0][0] for r in results])
            parts = []
            for codec in ("raw", "shm"):
                rates = [r[1][codec][0] for r in results]
                parts.append(f"{codec} {median(rates):.1f} ({median(rates) / whole:.2f}; "
                             f"{results[-1][1][codec][1]} ms)")
            pace = "camera paced at 60 fps" if live else "unpaced, 2 cores shared by both parts"
            every = "" if live else "; rounds (one process / raw / shm): " + ", ".join(
                f"{r[0][0]:.0f}/{r[1]['raw'][0]:.0f}/{r[1]['shm'][0]:.0f}" for r in results)
            print(f"{name}, {n} frames, {pace}: one process {whole:.1f} fps ({results[-1][0][1]} ms); "
                  f"split {', '.join(parts)}{every}")


def shm_read_cost(frames: int) -> None:
    """The receiver's cost per 720p frame of reading a shm slot safely (preadv through a read-only
    descriptor into a new array) against the lease it replaced (an mmap view of the slot: no copy,
    but a peer truncating its segment kills the reader with SIGBUS), paced at 60 fps."""
    import mmap
    import os
    from multiprocessing import shared_memory

    from portraitflow.graph.transport.shm_ring import ShmReader, ShmRing

    ring = ShmRing(slots=8)
    reader = ShmReader(64 << 20)
    frame = test_frame()
    safe_ns, lease_ns, lease_touch_ns = [], [], []
    try:
        fields = ring.write(frame, 0)
        header = {"session": b"b" * 16, "link_seq": 0, "shape": list(frame.shape), "dtype": "uint8", **fields}
        fd = shared_memory._posixshmem.shm_open("/" + fields["shm_name"], os.O_RDONLY, mode=0o600)
        mapping = mmap.mmap(fd, os.fstat(fd).st_size, prot=mmap.PROT_READ)
        os.close(fd)
        start = time.perf_counter()
        for i in range(frames):
            time.sleep(max(0.0, start + i / 60.0 - time.perf_counter()))
            ring.release(i + 1, [])
            fields = ring.write(frame, i + 1)       # the sender's copy (not timed)
            header.update(fields, link_seq=i + 1)
            t0 = time.perf_counter_ns()
            out = reader.read(header, frame.nbytes)
            t1 = time.perf_counter_ns()
            view = np.frombuffer(mapping, np.uint8, frame.nbytes, fields["shm_offset"]).reshape(frame.shape)
            t2 = time.perf_counter_ns()
            checksum = int(view[::16, ::16].sum())    # a consumer touching the leased pages (first use)
            t3 = time.perf_counter_ns()
            safe_ns.append(t1 - t0)
            lease_ns.append(t2 - t1)
            lease_touch_ns.append(t3 - t1)
            del view, out, checksum
        mapping.close()
    finally:
        reader.close()
        ring.close()
    print(f"== shm receive cost per 1280x720 frame at 60 fps ({frames} frames): safe preadv read "
          f"p50 {ms(safe_ns, 50):.3f} ms p99 {ms(safe_ns, 99):.3f} ms; previous lease (mmap view, no copy) "
          f"p50 {ms(lease_ns, 50):.3f} ms p99 {ms(lease_ns, 99):.3f} ms (with a consumer touching every "
          f"16th pixel: p50 {ms(lease_touch_ns, 50):.3f} ms p99 {ms(lease_touch_ns, 99):.3f} ms)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--role", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--only", default="", help="comma-separated: shm, transport, imagezmq, slow, split")
    args = p.parse_args()
    if args.role:
        role, *rest = args.role
        if role == "receiver":
            role_receiver(rest[0], int(rest[1]), float(rest[2]), int(rest[3]))
        elif role == "imagezmq":
            role_imagezmq_hub(rest[0], int(rest[1]))
        elif role == "part":
            return role_part(*rest)
        return 0
    only = set(filter(None, args.only.split(","))) or {"shm", "transport", "imagezmq", "slow", "split"}
    if "shm" in only:
        shm_read_cost(args.frames)
    if "transport" in only:
        transport_cost(args.frames, 10 * args.frames)
    if "imagezmq" in only:
        imagezmq_baseline(10 * args.frames)
    if "slow" in only:
        slow_consumer(min(args.frames, 150))
        slow_consumer_split(min(args.frames, 180))
    if "split" in only:
        split_ratio(3 * args.frames, min(args.frames, 300))
    return 0


if __name__ == "__main__":
    sys.exit(main())
