"""`portraitflow run`: run a recipe or a graph file from a source to a sink, with progress and a summary.

Not for: building graphs (recipes/loader.py, graph/graph_file.py) or running them (graph/runner.py).
"""
from __future__ import annotations

import argparse
import sys
import time

from ..graph import registry
from ..graph.errors import ConfigError
from ..graph.graph_file import load_graph_file
from ..graph.options import build_options, option_fields
from ..graph.runner import GraphRunner, run_graph
from ..graph.spec import GraphSpec, NodeSpec
from ..graph.stats import percentile_ms
from ..graph.validate import resolve
from .flags import add_size_flags, describe_resize, float_in, int_in, resize_options

DEFAULT_RECIPE = "blur"
#: the option a node declares to take `--cpu-budget` (nodes/segment.py)
CPU_BUDGET_OPTION = "cpu_budget_percent"
DEFAULT_OUTPUT = "portraitflow-out.mp4"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run a recipe (or a graph file) from a source to a sink",
                              description="Run a recipe or a graph file. Ctrl-C stops cleanly: the output "
                                          "file keeps every frame written so far.")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--recipe", help=f"recipe name or .toml path (default: {DEFAULT_RECIPE})")
    what.add_argument("--graph", help="a graph file (TOML); --input/--output replace its nodes "
                                      "'capture'/'output' when given")
    p.add_argument("--input", default=None,
                   help="sample (default), a video or image path, camera or camera:N or /dev/videoN")
    p.add_argument("--output", default=None,
                   help=f"a .mp4/.mkv path, a .png path, preview or null (default: {DEFAULT_OUTPUT}; "
                        "with --preview web and no --output, nothing is written)")
    p.add_argument("--max-frames", type=int_in(1), default=None, help="stop after N frames from each source")
    p.add_argument("--key-colour", metavar="green|blue|#RRGGBB",
                   help="draw the look's transparency as a flat key colour (a green screen for OBS's chroma "
                        "key or a video call): for outputs without alpha (vcam, udp://, rtmp://, .mp4)")
    p.add_argument("--fps", type=float_in(0, 240), default=None, metavar="N",
                   help="write the output at a constant N frames/s (default: the input's own timing, "
                        "constant or variable rate)")
    p.add_argument("--cpu-budget", type=float_in(0, 6400), default=None, metavar="PERCENT",
                   help="hold the run's CPU under PERCENT of one core (judged at the input's own frame rate) "
                        "by segmenting fewer frames; every frame is still output (the last mask is carried "
                        "with the motion); skipped frames are counted in the summary")
    p.add_argument("--no-audio", action="store_true",
                   help="drop the input file's sound (by default a file or stream output keeps it)")
    p.add_argument("--realtime", action="store_true",
                   help="pace file and sample sources at their frame rate (as a camera would be)")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="override a look setting (KEY=VALUE: the composite node's look, also in --graph "
                        "runs) or a node's option (NODE.OPTION=VALUE, e.g. fringe.feather=2); repeatable")
    add_size_flags(p)
    p.add_argument("--quiet", action="store_true", help="no progress line, no summary")
    p.add_argument("--preview", choices=["web"], help="web: also show the output live on a local page "
                   "(http://127.0.0.1:PORT/?token=..., printed at start) with every setting of the look and "
                   "the chain, recipes, pause, snapshot and statistics; /obs?token=... is an OBS Browser Source")
    p.add_argument("--port", type=int_in(0, 65535), default=8765,
                   help="--preview web: the page's port (0: any free port)")
    p.add_argument("--preview-bind", default="127.0.0.1", metavar="ADDR",
                   help="--preview web: the address to listen on (default 127.0.0.1); any other address "
                        "needs the token for everything, the page included")
    p.add_argument("--trace", metavar="FILE.json",
                   help="write a Chrome trace-event file (Perfetto opens it): a span per node per packet")
    link = p.add_argument_group("split graphs (docs/protocol.md)")
    link.add_argument("--part", help="run only the nodes of this part; edges to other parts become links")
    link.add_argument("--bind", metavar="ADDRESS", help="this part binds its links (tcp://*:5555, ipc:///tmp/x)")
    link.add_argument("--connect", metavar="ADDRESS", help="this part connects its links (tcp://host:5555)")
    link.add_argument("--codec", choices=["raw", "jpeg", "h264", "shm"],
                      help="codec of frame links this part sends (default: shm on the same Linux host, "
                           "raw on the same host elsewhere, jpeg across machines; shm: shared memory, "
                           "same host only, raw until the receiver accepts it)")
    link.add_argument("--mask-codec", choices=["raw", "mask8", "shm"],
                      help="codec of mask links this part sends")
    link.add_argument("--key", default="", help="CurveZMQ: this part's certificate (NAME.key_secret)")
    link.add_argument("--server-key", default="", help="CurveZMQ, connecting: the server's public NAME.key")
    link.add_argument("--allow-keys", default="", help="CurveZMQ, binding: directory of allowed client keys")
    link.add_argument("--insecure", action="store_true", help="allow plain text on non-loopback addresses")
    p.set_defaults(func=_run)


def build_spec(args: argparse.Namespace) -> GraphSpec:
    from ..devices.endpoints import sink_for, source_for
    from ..recipes.overrides import apply_sets, parse_sets, split_sets

    source = source_for(args.input) if args.input else None
    sink = sink_for(args.output) if args.output else None
    sets = parse_sets(args.settings)
    resize = resize_options(args)
    if args.graph:
        spec = load_graph_file(args.graph)
        _replace(spec, "capture", source, "--input")
        _replace(spec, "output", sink, "--output")
        if resize is not None:
            if "capture" not in spec.nodes:
                raise ConfigError(f"--size/--max-size need a node with id 'capture' to resize after "
                                  f"(nodes: {', '.join(spec.nodes)})", file=spec.file)
            spec.insert_after("capture.frame", "size", "resize", **resize)
        apply_sets(spec, sets)
    else:
        from ..recipes.loader import load_recipe, recipe_graph

        look_sets, node_sets = split_sets(sets)
        if sink is None:   # a web preview alone writes nothing; otherwise the default file
            sink = sink_for("null" if args.preview == "web" else DEFAULT_OUTPUT)
        recipe = load_recipe(args.recipe or DEFAULT_RECIPE)
        if args.key_colour:
            from ..recipes.loader import check_key_colour
            check_key_colour(recipe, look_sets)
        spec = recipe_graph(recipe, source=source or source_for("sample"), sink=sink, settings=look_sets,
                            resize=resize)
        apply_sets(spec, node_sets)
    if getattr(args, "cpu_budget", None) is not None:
        # every node that takes a CPU budget declares the option (the segment node: it lowers its rate)
        segments = [n for n in spec.nodes.values() if CPU_BUDGET_OPTION in option_fields(
            registry.node_class(n.type, file=spec.file, node=n.id).Options)]
        if not segments:
            raise ConfigError(f"--cpu-budget lowers the segmentation rate, but the graph has no segment node "
                              f"(nodes: {', '.join(spec.nodes)})", file=spec.file, field="--cpu-budget")
        for node in segments:
            node.options[CPU_BUDGET_OPTION] = args.cpu_budget
    if args.realtime:
        for node, option in paceable_sources(spec):
            node.options[option] = True
    if args.preview == "web":
        _add_web_preview(spec)
    if args.key_colour:   # after the web preview, which keeps the alpha (the OBS page shows it)
        from ..nodes.key_colour import add_key_colour
        add_key_colour(spec, args.key_colour)
    _set_output_timing(spec, args)
    return spec


def paceable_sources(spec: GraphSpec) -> list[tuple[NodeSpec, str]]:
    """(node, the option that paces it) for every source whose contract says it can be paced."""
    found = []
    for node in spec.nodes.values():
        cls = registry.node_class(node.type, file=spec.file, node=node.id)
        if not cls.inputs and cls.pace_option:
            found.append((node, cls.pace_option))
    return found


def _live_by_nature(spec: GraphSpec, node: NodeSpec) -> bool:
    """A source that is live whatever its pacing (a camera, a network link), per its contract."""
    cls = registry.node_class(node.type, file=spec.file, node=node.id)
    if cls.inputs or cls.pace_option:
        return False
    return cls.live_for(build_options(cls.Options, node.options, file=spec.file, node=node.id))


def _set_output_timing(spec: GraphSpec, args: argparse.Namespace) -> None:
    """The encoding sinks' timing and sound, each set through the option its contract names
    (Node.encoding, Node.sound_file_option): a live recording keeps its real (capture) timing, a file
    its own media time; --fps fixes the rate; the input file's sound goes to the output unless
    --no-audio. A stream is live by nature: file and sample sources feeding one play in real time."""
    from ..devices.audio_track import has_audio

    classes = {node.id: registry.node_class(node.type, file=spec.file, node=node.id)
               for node in spec.nodes.values()}
    sinks = [(node, classes[node.id].encoding) for node in spec.nodes.values() if classes[node.id].encoding]
    if any(encoding.plays_live for _, encoding in sinks):
        for node, option in paceable_sources(spec):
            node.options.setdefault(option, True)
    live = args.realtime or any(_live_by_nature(spec, node) for node in spec.nodes.values())
    files = [str(node.options.get(classes[node.id].sound_file_option, "")) for node in spec.nodes.values()
             if classes[node.id].sound_file_option]
    files = [f for f in files if f and "://" not in f]   # a local file: a URL's sound is not read twice
    audio = files[0] if len(files) == 1 and not args.no_audio and has_audio(files[0]) else ""
    for node, encoding in sinks:
        if live and encoding.live_timing:
            option, value = encoding.live_timing
            node.options.setdefault(option, value)   # a live recording keeps its real timing
        if args.fps is not None and encoding.rate_option:
            node.options[encoding.rate_option] = args.fps
        if audio and encoding.sound_option:
            node.options.setdefault(encoding.sound_option, audio)


def _add_web_preview(spec: GraphSpec) -> None:
    """A web_preview_sink fed by whatever feeds the output sink; file sources play in real time."""
    feeds = [e for e in spec.edges if e.target == "output" and e.target_port == "frame"]
    if not feeds:
        raise ConfigError("--preview web needs a node 'output' with a 'frame' input to watch", file=spec.file)
    spec.add("web_preview", "web_preview_sink", part=spec.nodes["output"].part)
    spec.connect(f"{feeds[0].source}.{feeds[0].source_port}", "web_preview.frame")
    for node, option in paceable_sources(spec):
        node.options.setdefault(option, True)
    for node in spec.nodes.values():
        if node.type == "sample_source":
            node.options.setdefault("frames", 9000)   # 5 minutes to try looks, not a 5 s clip; Ctrl-C ends


def _web_preview_looks(args: argparse.Namespace, graph) -> tuple[dict[str, dict[str, dict]], str | None]:
    """Each bundled recipe as the options of the running graph's nodes it sets (same id and type),
    so the page can switch looks live. A graph file (--graph) is offered them when it has the
    standard chain (every processing node of a recipe, by id and type); else none."""
    import dataclasses

    from ..devices.endpoints import sink_for, source_for
    from ..recipes.loader import CHAIN, list_recipes, load_recipe, recipe_graph
    running = {n.id: n.type for n in graph.nodes}
    if args.graph and any(running.get(node_id) != node_type for node_id, node_type in CHAIN.items()):
        return {}, None
    looks: dict[str, dict[str, dict]] = {}
    for name in list_recipes():
        recipe_spec = recipe_graph(load_recipe(name), source=source_for("sample"), sink=sink_for("null"))
        nodes = [n for n in resolve(recipe_spec).nodes if running.get(n.id) == n.type and n.cls.inputs
                 and n.cls.outputs]   # processing nodes only: the source and sink stay as run
        looks[name] = {n.id: dataclasses.asdict(n.options) for n in nodes}
    current = None if args.graph else load_recipe(args.recipe or DEFAULT_RECIPE).name
    return looks, current


def _web_preview_server(args: argparse.Namespace, graph):
    """The page's server for this run: its looks, where "Save as recipe" writes, the address."""
    from functools import partial

    from ..devices.web_server import WebPreviewServer
    from ..recipes.writer import save_running_recipe, saved_recipes_dir
    looks, current = _web_preview_looks(args, graph)
    server = WebPreviewServer(sink_id="web_preview", looks=looks, current_look=current, host=args.preview_bind,
                              port=args.port, save_recipe=partial(save_running_recipe, saved_recipes_dir()))
    server.controls.modified = bool(args.settings)     # --set: the recipe, changed
    return server


def _replace(spec: GraphSpec, node_id: str, endpoint: tuple[str, dict] | None, flag: str) -> None:
    if endpoint is None:
        return
    if node_id not in spec.nodes:
        raise ConfigError(f"{flag} needs a node with id {node_id!r} in the graph to replace "
                          f"(nodes: {', '.join(spec.nodes)})", file=spec.file)
    old = spec.nodes[node_id]
    spec.nodes[node_id] = NodeSpec(node_id, endpoint[0], dict(endpoint[1]), old.part)


class _Progress:
    """A progress bar for file inputs, a one-line status (fps in/out, drops, latency) for live ones."""

    def __init__(self, runner_spec_live: bool, total: int | None):
        self.live = runner_spec_live
        self.total = total
        self.last = (time.monotonic(), 0, 0)
        self.shown = False

    def __call__(self, runner: GraphRunner) -> None:
        stats = runner.stats
        now = time.monotonic()
        frames_in, frames_out = stats.frames_in(), stats.frames_out()
        t0, in0, out0 = self.last
        dt = max(now - t0, 1e-6)
        self.last = (now, frames_in, frames_out)
        dropped = sum(s.dropped for s in runner.streams.values())
        if self.live:
            lat = [v for n in stats.sinks() for v in list(n.latency_ns)[-300:]]
            line = (f"in {(frames_in - in0) / dt:5.1f} fps  out {(frames_out - out0) / dt:5.1f} fps  "
                    f"dropped {dropped}  latency p50 {percentile_ms(lat, 50):5.1f} ms "
                    f"p95 {percentile_ms(lat, 95):5.1f} ms")
        else:
            rate = frames_out / max(stats.seconds, 1e-6)
            if self.total:
                done = min(frames_out / self.total, 1.0)
                bar = "#" * int(done * 30)
                line = f"[{bar:<30}] {frames_out}/{self.total} frames  {rate:5.1f} fps"
            else:
                line = f"{frames_out} frames  {rate:5.1f} fps"
        print("\r" + line.ljust(79), end="", file=sys.stderr, flush=True)
        self.shown = True

    def finish(self) -> None:
        if self.shown:
            print(file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    spec = build_spec(args)
    if args.part:
        from ..graph.parts import PartSettings, split_part
        spec = split_part(spec, args.part, PartSettings(
            bind=args.bind, connect=args.connect, codec=args.codec, mask_codec=args.mask_codec,
            secret_key=args.key, server_key=args.server_key, allow_keys=args.allow_keys, insecure=args.insecure))
    graph = resolve(spec)
    live = any(edge.policy.value == "latest" for edge in graph.edges)
    total = _expected_frames(graph, args.max_frames)
    progress = None if args.quiet or not sys.stderr.isatty() else _Progress(live, total)
    outputs = [n for n in graph.nodes if not n.cls.outputs]
    recorder = web = None
    if args.trace:
        from ..graph.trace import TraceRecorder
        recorder = TraceRecorder.for_graph(graph, process=args.part or "local")
    if args.preview == "web":
        web = _web_preview_server(args, graph).start()
        print(f"preview: {web.control_url}\nobs:     {web.obs_url}", file=sys.stderr, flush=True)

    if not args.quiet and resize_options(args) is not None:
        print(f"output size: {describe_resize(resize_options(args))}", file=sys.stderr)
    stats = None
    try:
        stats = run_graph(graph, max_frames=args.max_frames, on_start=web.attach if web else None,
                          on_tick=progress, observers=[recorder] if recorder else None)
    finally:
        if progress:
            progress.finish()
        if web is not None:
            web.close()
        if recorder is not None:   # written even when a node failed: the trace shows up to the failure
            from ..graph.trace import place_on_link_clock
            if stats is not None:
                place_on_link_clock(recorder, stats)
            print(f"trace: {recorder.write(args.trace)} ({len(recorder.spans)} spans)", file=sys.stderr)
    if not args.quiet:
        print(stats.summary(), file=sys.stderr)
        for node in outputs:
            path = getattr(node.options, "path", None)
            if path:
                print(f"wrote {path}")
    return 130 if stats.interrupted else 0


def _expected_frames(graph, max_frames: int | None) -> int | None:
    counts = []
    for node in graph.nodes:
        if not node.cls.inputs:
            frames = getattr(node.options, "frames", None) or getattr(node.options, "max_frames", None)
            if frames:
                counts.append(frames)
    total = max(counts) if counts else None
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    return total
