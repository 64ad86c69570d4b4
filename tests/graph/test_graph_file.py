"""Graph files: parsed into specs, checked against contracts, every error naming file, node and field."""
from __future__ import annotations

import textwrap

import pytest

from portraitflow.cli.main import main
from portraitflow.graph import ConfigError
from portraitflow.graph.graph_file import load_graph_file, parse_graph
from portraitflow.graph.runner import run_graph
from portraitflow.graph.spec import DropPolicy, GraphSpec
from portraitflow.graph.validate import resolve

import support.graph_nodes  # noqa: F401  (registers the t_* test node types)
from support.graph_nodes import Collect

GOOD = """
[graph]
name = "demo"
queue_size = 3

[nodes.src]
type = "t_count"
options = { frames = 5 }

[nodes.mask]
type = "t_mask"
inputs = { frame = "src.frame" }

[nodes.sink]
type = "t_collect"
inputs = { frame = { from = "src.frame", policy = "latest", queue_size = 1 }, mask = "mask.mask" }
options = { key = "file" }
"""


def write(tmp_path, text, name="g.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_good_file_resolves_with_its_policies_and_runs(tmp_path):
    spec = load_graph_file(write(tmp_path, GOOD))
    graph = resolve(spec)
    assert graph.nodes[0].id == "src"
    edges = {e.name: e for e in graph.edges}
    assert edges["src.frame->sink.frame"].policy is DropPolicy.LATEST
    assert edges["src.frame->sink.frame"].queue_size == 1
    assert edges["mask.mask->sink.mask"].policy is DropPolicy.BLOCK      # auto + file source
    assert edges["mask.mask->sink.mask"].queue_size == 3
    run_graph(graph)
    assert len(Collect.received["file"]) >= 1


def test_builder_and_file_are_one_format(tmp_path):
    spec = load_graph_file(write(tmp_path, GOOD))
    again = parse_graph(spec.to_toml(), file="again.toml")
    assert again.nodes.keys() == spec.nodes.keys()
    assert [(e.name, e.policy, e.queue_size) for e in again.edges] == [
        (e.name, e.policy, e.queue_size) for e in spec.edges]
    assert again.nodes["src"].options == {"frames": 5}


@pytest.mark.parametrize("edit, node, field, words", [
    (('type = "t_mask"', 'type = "t_nope"'), "mask", "type", "unknown node type 't_nope'"),
    (("options = { frames = 5 }", "options = { frames = 5, speed = 2 }"), "src", "speed", "unknown option"),
    (("options = { frames = 5 }", 'options = { frames = "five" }'), "src", "frames", "expected int, got str"),
    (('inputs = { frame = "src.frame" }', ""), "mask", "inputs.frame", "required input 'frame'"),
    (('mask = "mask.mask"', 'mask = "src.frame"'), "sink", "inputs.mask", "expected mask, got frame"),
    (('mask = "mask.mask"', 'mask = "mask.nothing"'), "sink", "inputs.mask", "has no output 'nothing'"),
    (('policy = "latest"', 'policy = "sometimes"'), "sink", "inputs.frame.policy", "expected 'latest' or 'block'"),
    (('type = "t_mask"', 'type = "t_mask"\nmystery = 1'), "mask", "mystery", "unknown key"),
])
def test_config_errors_name_file_node_and_field(tmp_path, edit, node, field, words):
    path = write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError) as info:
        resolve(load_graph_file(path))
    err = info.value
    assert err.file == str(path) and err.node == node and err.field == field
    assert words in str(err) and str(path) in str(err)


def test_a_cycle_is_refused(tmp_path):
    text = """
    [nodes.src]
    type = "t_count"
    [nodes.a]
    type = "t_slow"
    inputs = { frame = "b.frame" }
    [nodes.b]
    type = "t_slow"
    inputs = { frame = "a.frame" }
    """
    with pytest.raises(ConfigError, match="cycle"):
        resolve(load_graph_file(write(tmp_path, text)))


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_graph_file(write(tmp_path, "[nodes.x\n"))
    with pytest.raises(ConfigError, match="absent.toml: graph file not found"):
        load_graph_file(tmp_path / "absent.toml")


def test_cli_check_and_show(tmp_path, capsys):
    path = write(tmp_path, GOOD)
    assert main(["graph", "check", str(path)]) == 0
    assert "ok (3 nodes, 3 edges" in capsys.readouterr().out
    assert main(["graph", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR") and "src -->" in out and "latest/1" in out
    assert main(["graph", "show", "--format", "dot", str(path)]) == 0
    assert '"src" -> "sink"' in capsys.readouterr().out
    bad = write(tmp_path, GOOD.replace('type = "t_mask"', 'type = "t_nope"'), "bad.toml")
    assert main(["graph", "check", str(bad)]) == 2
    assert "unknown node type 't_nope'" in capsys.readouterr().err


def test_the_example_plugin_node_runs_inside_a_graph(tmp_path):
    text = GOOD.replace('[nodes.sink]', '[nodes.mirror]\ntype = "mirror"\ninputs = { frame = "src.frame" }\n\n'
                        '[nodes.sink]').replace('from = "src.frame"', 'from = "mirror.frame"')
    text = text.replace("policy = \"latest\", ", "")
    graph = resolve(load_graph_file(write(tmp_path, text)))
    assert graph.node("mirror").cls.__module__ == "portraitflow_mirror.mirror"
    run_graph(graph)
    got = Collect.received["file"]
    assert len(got) == 5
    for frame, _ in got:                             # columns arrive reversed, content intact
        assert list(frame.payload[0, :, 1]) == list(range(7, -1, -1))


def test_to_toml_round_trips_nested_options_quotes_and_odd_keys():
    spec = (GraphSpec(name='a "quoted" graph', policy="block", queue_size=3)
            .add("src", "t_count", frames=4)
            .add("sink", "t_collect", key='line\nbreak "and" back\\slash',
                 settings={"title": "MY FILM", "colours": ["#102030", "#ffffff"], "odd key": 1.5,
                           "nested": {"deep": True}}, ratio=float("inf"))
            .connect("src.frame", "sink.frame", policy="latest", queue_size=1))
    text = spec.to_toml(comments={"sink": "a comment line"})
    back = parse_graph(text)
    assert "# a comment line\n[nodes.sink]" in text
    assert "[nodes.sink.options.settings]" in text          # nested options get their own table
    assert back.name == spec.name and back.policy == "block" and back.queue_size == 3
    assert {n: (s.type, s.options) for n, s in back.nodes.items()} == \
        {n: (s.type, s.options) for n, s in spec.nodes.items()}
    assert [(e.name, e.policy, e.queue_size) for e in back.edges] == \
        [(e.name, e.policy, e.queue_size) for e in spec.edges]
