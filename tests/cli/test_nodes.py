"""`portraitflow nodes [TYPE]`: every installed node type (built-ins and the mirror plugin) with its ports,
kinds, pairing and options (type, default, range, doc line), read from the contracts themselves."""
from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

from portraitflow.cli.main import main


def _json(capsys, *args: str):
    assert main(["nodes", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_registered_type_is_listed_with_its_options_including_the_plugin():
    result = subprocess.run([sys.executable, "-m", "portraitflow", "nodes"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    names = {ep.name for ep in entry_points(group="portraitflow.nodes")}
    assert {"mirror", "segment", "fringe", "composite", "video_source"} <= names
    heads = [line.split()[0] for line in result.stdout.splitlines() if "  [" in line and line[0] != " "]
    assert set(names) <= set(heads)
    assert "cannot be loaded" not in result.stdout
    mirror = result.stdout.split("\nmirror  ")[1].split("\n")
    assert mirror[0].startswith("[portraitflow-mirror]")
    assert mirror[1].strip() == "in: frame (frame)   out: frame (frame)"
    assert mirror[2].strip() == "options: enabled = true"
    assert f"{len(heads)} node types." in result.stdout


def test_json_listing_carries_kinds_ranges_defaults_docs_and_pairing(capsys):
    infos = {i["type"]: i for i in _json(capsys)}
    fringe = infos["fringe"]
    assert fringe["inputs"] == [{"port": "frame", "kind": "frame", "optional": False, "primary": True},
                                {"port": "mask", "kind": "mask", "optional": False, "primary": False}]
    assert fringe["outputs"] == [{"port": "mask", "kind": "mask"}]
    assert fringe["pairing"] == {"primary": "frame", "wait_ms": 100.0, "max_age_ms": 250.0}
    feather = next(o for o in fringe["options"] if o["name"] == "feather")
    assert (feather["type"], feather["default"]) == ("float", 0.0)
    assert (feather["low"], feather["high"]) == (0.0, 100.0)
    assert "softness" in feather["doc"]
    style = next(o for o in fringe["options"] if o["name"] == "style")
    assert style["kind"] == "choice" and "halftone" in style["choices"]
    assert infos["composite"]["pairing_from_options"] is True
    assert infos["composite"]["inputs"][1]["optional"] is True
    assert infos["sample_source"]["live"] is False and infos["camera_source"]["live"] is True
    assert infos["video_source"]["live"] is None
    assert infos["video_source"]["pace_option"] == "realtime" and infos["camera_source"]["pace_option"] is None          # path is required: no default instance
    path = next(o for o in infos["video_source"]["options"] if o["name"] == "path")
    assert path["required"] is True
    assert infos["mirror"]["distribution"] == "portraitflow-mirror"
    assert infos["mirror"]["source"] == "portraitflow_mirror.mirror:Mirror"


def test_one_type_in_detail(capsys):
    assert main(["nodes", "fringe"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fringe: Bring the mask to frame resolution")
    assert "  from: portraitflow.nodes.fringe:Fringe (portraitflow)" in out
    assert "    frame        frame  primary" in out
    assert "feather          float in [0, 100]  = 0.0" in out
    assert "eps              float in (0, 1]  = 0.001" in out
    assert "frame drives; each other input waits up to 100 ms" in out
    assert main(["nodes", "sample_source"]) == 0
    out = capsys.readouterr().out
    assert "live (with default options): no" in out and "paced (run --realtime) by option: realtime" in out


def test_an_unknown_type_is_one_line_naming_the_known_ones(capsys):
    assert main(["nodes", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("portraitflow nodes: error: unknown node type 'nope' (known types: ")
    assert "mirror" in err and err.count("\n") == 1
