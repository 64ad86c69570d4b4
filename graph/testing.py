"""Test one node through the runner itself: feed packets, collect what it emits, read its counters.

Not for: production graphs (graph/runner.py). Like MediaPipe's CalculatorRunner, NodeHarness builds a
real graph around the node (a feeding source per input port, a collecting sink per output port) and
runs it with GraphRunner, so the node meets every check a real graph makes: its options are built
and range-checked, its pairing comes from its options, input and output payloads are checked against
the port kinds, output timestamps must increase. A node's exception is raised as itself (so a test
can expect its type) with the runner's NodeError line, naming node and frame, added as a note. The
edges are BLOCK by default, so nothing is dropped and results do not depend on timing.

    result = NodeHarness(Fringe, {"feather": 2.0}).run({"frame": packets(frames), "mask": packets(masks)})
    result["mask"]               # the packets emitted on port "mask"
    result.counters              # ctx.count() totals, e.g. {"mask_missing": 1}

NodeStepper is the same node driven one process() call at a time, for what only a single step can set
up: an input that is None on purpose (a missing mask), a packet of a given age, options changed
between two packets (as the runner applies them). Each step goes through the runtime's own checks:
options built as the runner builds them, the pairing the options give, input kinds, and OutputCheck
on everything emitted.

    with NodeStepper(Fringe) as step:
        step.process(frame=frame_packet, mask=None)     # mask missing: counted, nothing emitted
        step.set_options(style="glow")                  # applied before the next packet, as live
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Self

from . import registry
from .errors import ConfigError, ContractError, EndOfStream, NodeError
from .kinds import AnyKind
from .node import Context, Node, OutputCheck
from .options import build_options
from .packet import Packet
from .runner import GraphRunner
from .spec import DropPolicy, GraphSpec
from .stats import RunStats
from .validate import ResolvedNode, node_contract, resolve

FEED_TYPE = "harness_feed"
COLLECT_TYPE = "harness_collect"


class _Feed(Node):
    """Emits the given packets (timestamps, sequence numbers and metadata as given), then ends;
    when pacing, each at its timestamp's offset from the first (the schedule the timestamps say)."""

    outputs = {"packet": AnyKind}
    to_send: list[Packet] = []
    pace = False

    def open(self, ctx: Context) -> None:
        self._left = iter(self.to_send)
        self._start: tuple[float, int] | None = None   # (monotonic s, capture_ts_ns) of the first

    def process(self, ctx: Context) -> None:
        packet = next(self._left, None)
        if packet is None:
            raise EndOfStream
        if self.pace:
            if self._start is None:
                self._start = (time.monotonic(), packet.capture_ts_ns)
            due = self._start[0] + (packet.capture_ts_ns - self._start[1]) / 1e9
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        ctx.emit("packet", packet)


class _Collect(Node):
    """Keeps every packet it receives."""

    inputs = {"packet": AnyKind}
    received: list[Packet]

    def process(self, ctx: Context) -> None:
        self.received.append(ctx.inputs["packet"])  # type: ignore[arg-type]


class HarnessResult(dict):
    """Emitted packets per output port (a dict, as run_node always returned), plus what the run counted."""

    def __init__(self, outputs: dict[str, list[Packet]], node_id: str, stats: RunStats):
        super().__init__(outputs)
        node = stats.nodes[node_id]
        self.stats = stats
        self.counters: dict[str, int] = dict(node.counters)
        self.processed = node.processed           # process() calls (sources: packets made)
        self.emitted = node.emitted
        self.late_or_missing: dict[str, int] = {k: v for k, v in node.late_or_missing.items() if v}
        self.dropped = stats.dropped


class NodeHarness:
    """One node (a class, a type name, or an instance from ``make_node``) in a real graph of its own.

    ``options`` are plain data, validated as a graph file's are (ConfigError names the field).
    ``policy`` and ``queue_size`` apply to every edge (BLOCK: nothing dropped, timing-independent).
    ``max_packets`` bounds a source under test. ``pace``: each input's packets are fed at the
    spacing of their timestamps (bursts, jitter and gaps as written), not as fast as possible.
    """

    def __init__(self, node: type[Node] | Node | str, options: dict[str, Any] | None = None, *,
                 node_id: str | None = None, policy: DropPolicy | str = DropPolicy.BLOCK,
                 queue_size: int = 2, max_packets: int | None = 10_000, pace: bool = False):
        self.instance: Node | None = None
        if isinstance(node, Node):
            if options is not None:
                raise ConfigError("give options to make_node or to the harness, not both", node=node.id)
            self.instance = node
            node_cls, options = type(node), dataclasses.asdict(node.options)
            node_id = node_id or node.id
        elif isinstance(node, str):
            node_cls = registry.node_class(node)
        else:
            node_cls = node
        self.node_cls = node_cls
        self.type_name = node if isinstance(node, str) else _registered_name(node_cls)
        self.node_id = node_id or "node"
        self.options = dict(options or {})
        self.policy = DropPolicy(policy)
        self.queue_size = queue_size
        self.max_packets = max_packets
        self.pace = pace

    def run(self, inputs: dict[str, list[Packet]] | None = None) -> HarnessResult:
        """Feed ``inputs`` (packets per input port), run to the end, return what came out."""
        inputs = dict(inputs or {})
        cls = self.node_cls
        unknown = sorted(set(inputs) - set(cls.inputs))
        if unknown:
            raise ConfigError(f"no input {unknown[0]!r} (inputs: {', '.join(cls.inputs) or 'none'})",
                              node=self.node_id, field=f"inputs.{unknown[0]}")
        registry.register(FEED_TYPE, _Feed)
        registry.register(COLLECT_TYPE, _Collect)
        spec = GraphSpec(name=f"harness:{self.type_name}", policy=self.policy.value,
                         queue_size=self.queue_size)
        spec.add(self.node_id, self.type_name, **self.options)
        # every required input gets a feed (maybe empty); an optional one only when it is given
        fed = [p for p in cls.inputs if p in inputs or p not in cls.optional_inputs]
        for port in fed:
            spec.add(f"input_{port}", FEED_TYPE)
            spec.connect(f"input_{port}.packet", f"{self.node_id}.{port}")
        for port in cls.outputs:
            spec.add(f"output_{port}", COLLECT_TYPE)
            spec.connect(f"{self.node_id}.{port}", f"output_{port}.packet")
        graph = resolve(spec)
        for port in fed:   # a feed declares the kind of the port it feeds: its payloads are checked
            feed = graph.node(f"input_{port}")
            feed.cls = type(f"Feed_{port}", (_Feed,), {"outputs": {"packet": cls.inputs[port]},
                                                       "to_send": list(inputs.get(port, [])),
                                                       "pace": self.pace})
        outputs: dict[str, list[Packet]] = {port: [] for port in cls.outputs}
        for port in cls.outputs:
            graph.node(f"output_{port}").cls = type(f"Collect_{port}", (_Collect,),
                                                    {"received": outputs[port]})
        if self.instance is not None:
            index = graph.nodes.index(graph.node(self.node_id))
            graph.nodes[index] = _GivenInstance.of(graph.nodes[index], self.instance)
        max_frames = self.max_packets if not cls.inputs else None
        runner = GraphRunner(graph, max_frames=max_frames).start()
        runner.wait()
        error = runner.error
        if isinstance(error, NodeError) and error.__cause__ is not None:
            # the node's own exception, so a test can expect its type; the runner's line as a note
            cause = error.__cause__
            cause.add_note(str(error))
            raise cause
        if error is not None:
            raise error
        return HarnessResult(outputs, self.node_id, runner.stats)


@dataclasses.dataclass
class _GivenInstance(ResolvedNode):
    """A resolved node that runs the instance the test built (so it can look inside it afterwards)."""

    given: Node | None = None

    @classmethod
    def of(cls, resolved: ResolvedNode, node: Node) -> _GivenInstance:
        fields = {f.name: getattr(resolved, f.name) for f in dataclasses.fields(ResolvedNode)}
        return cls(**fields, given=node)

    def instantiate(self) -> Node:
        assert self.given is not None
        return self.given


def _registered_name(node_cls: type[Node]) -> str:
    """The type name a class is registered under; an unregistered class is registered for the test."""
    where = f"{node_cls.__module__}:{node_cls.__qualname__}"
    for name, target in registry.available().items():
        if target is node_cls or getattr(target, "value", None) == where:
            return name
    name = f"harness:{where}"
    registry.register(name, node_cls)
    return name


def make_node(node_cls: type[Node], options: dict[str, Any] | None = None, node_id: str = "node") -> Node:
    """A node instance with validated options (ConfigError names the field), for ``run_node``."""
    node_cls.check_contract()
    return node_cls(node_id, build_options(node_cls.Options, options, node=node_id))


def run_node(node: Node | type[Node], inputs: dict[str, list[Packet]] | None = None,
             max_packets: int = 10_000) -> HarnessResult:
    """Run one node through the runner (see NodeHarness): the emitted packets per output port, with
    ``.counters``, ``.processed``, ``.late_or_missing`` and ``.stats`` of the run."""
    return NodeHarness(node, max_packets=max_packets).run(inputs)


def packets(payloads: list[Any], start_ns: int = 1_000_000_000, period_ns: int = 33_333_333) -> list[Packet]:
    """Packets with increasing timestamps and sequence numbers for a list of payloads."""
    return [Packet(p, start_ns + i * period_ns, i) for i, p in enumerate(payloads)]


class NodeStepper:
    """One node, one process() call at a time, through the runtime's checks (see the module doc).
    ``emitted[port]`` collects what it emits; ``counters`` are its ctx.count() totals."""

    def __init__(self, node_cls: type[Node], options: dict[str, Any] | None = None, node_id: str = "node"):
        node_cls.check_contract()
        self.node_cls = node_cls
        self.node = node_cls(node_id, build_options(node_cls.Options, options, node=node_id))
        self.pairing = node_contract(node_cls, self.node.options, node=node_id)[0]
        self.emitted: dict[str, list[Packet]] = {port: [] for port in node_cls.outputs}
        check = OutputCheck(node_cls)

        def emit(port: str, packet: Packet) -> None:
            check(port, packet)
            self.emitted[port].append(packet)

        self.ctx = Context(node_id, emit)
        self._open = False

    @property
    def counters(self) -> dict[str, int]:
        return self.ctx.counters

    def __enter__(self) -> Self:
        self.node.open(self.ctx)
        self._open = True
        return self

    def __exit__(self, *exc_info) -> None:
        if self._open:
            self._open = False
            self.node.close(self.ctx)

    def process(self, **inputs: Packet | None) -> None:
        """One call with these inputs: every declared port given; None only where the runner could
        hand None (an optional input, or a secondary input of a pairing: late or missing)."""
        declared = self.node_cls.inputs
        if set(inputs) != set(declared):
            raise ContractError(f"{self.node.id}: give every input ({', '.join(declared)}), got {', '.join(inputs)}")
        primary = self.pairing.primary if self.pairing else next(iter(declared))
        for port, packet in inputs.items():
            if packet is None:
                if port == primary and port not in self.node_cls.optional_inputs:
                    raise ContractError(f"{self.node.id}: the primary input {port!r} is never None")
                continue
            problem = declared[port].check(packet.payload)
            if problem:
                raise ContractError(f"input {port!r} ({declared[port].name}): {problem}")
        self.ctx.inputs = dict(inputs)
        self.node.process(self.ctx)

    def set_options(self, **raw: Any) -> None:
        """Change options between two packets as the runner does (merged onto the current ones,
        validated, the pairing re-derived, then options_changed)."""
        current = dataclasses.asdict(self.node.options)
        options = build_options(self.node_cls.Options, {**current, **raw}, node=self.node.id)
        self.pairing = node_contract(self.node_cls, options, node=self.node.id)[0]
        self.node.options = options
        self.node.options_changed(self.ctx)
