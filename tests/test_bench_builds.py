"""benchmarks/bench_builds.py: the old-vs-new A/B runs both layer sets end to end on one tree (a tree
against itself), writes its JSON rows, and refuses a layer index outside the chosen set."""
import json

import pytest

from tests.bench_modules import ROOT, load_benchmark


@pytest.mark.parametrize("which, layer", [("dcgan", "4"), ("conv2d", "7")])
def test_a_tree_against_itself(tmp_path, which, layer):
    bb = load_benchmark("bench_builds")
    out = tmp_path / "rows.json"
    assert bb.main([ROOT, ROOT, "--rounds", "2", "--secs", "0.01", "--isas", "scalar", "--batch", "1",
                    "--layers", layer, "--set", which, "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["tree"] for r in rows] == ["old", "new"] and all(r["rounds"] == 2 for r in rows)
    assert all(r["median_s"] > 0 and r["macs"] > 0 for r in rows)
    assert all((r["requant_median_s"] is None) == (which == "conv2d") for r in rows)


def test_refuses_a_layer_outside_the_set(capsys):
    bb = load_benchmark("bench_builds")
    with pytest.raises(SystemExit):
        bb.main([ROOT, ROOT, "--set", "dcgan", "--layers", "5"])
    assert "--layers: 5 not in 1..4" in capsys.readouterr().err
