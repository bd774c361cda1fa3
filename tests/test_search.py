"""accelsim search (issue 15 item 4): the greedy walk down a format ladder with the simulator as the
cost model and the runtime as the quality model; its Pareto set, budgets, ApGAN's baseline, and
clear errors."""
import json
import math

import pytest

from accelsim.api import simulate
from accelsim.cli import main
from accelsim.errors import ConfigError, FormatError
from accelsim.graph.reference import load
from accelsim.quality import output_scores
from accelsim.runtime import quantize
from accelsim.search import Evaluator, apgan_assignments, search


@pytest.fixture(scope="module")
def isaac():
    return search("dcgan-digits", "isaac-like", n_inputs=16, calib=16)


def test_walk_lowers_one_layer_one_rung_per_step(isaac):
    ladder = isaac.ladder
    path = isaac.path
    assert [f for _, f in path[0].formats] == [ladder[0]] * 4
    assert [f for _, f in path[-1].formats] == [ladder[-1]] * 4
    assert len(path) == 1 + 4 * (len(ladder) - 1)
    for a, b in zip(path, path[1:]):
        moved = [(x, y) for (_, x), (_, y) in zip(a.formats, b.formats) if x != y]
        assert len(moved) == 1 and ladder.index(moved[0][1]) == ladder.index(moved[0][0]) + 1


def test_candidates_are_the_simulator_and_the_runtime():
    """A candidate's cost is simulate() of its assignment, its quality the runtime's output vs float."""
    ev = Evaluator("dcgan-digits", "edge-npu", n_inputs=8, calib=8)
    a = {"deconv1": "w8a8", "deconv2": "w4a8", "deconv3": "w2a8", "deconv4": "w8a8"}
    c = ev(a, "search")
    r = simulate("dcgan-digits", "edge-npu", {**a, "*": "w8a8"})
    assert c.energy_uj == pytest.approx(r.energy_per_image_uj) and c.dram_bytes == r.dram_bytes
    loaded = load("dcgan-digits")
    x = loaded.example_inputs(8, 0)
    out = quantize(loaded.graph, a, loaded.example_inputs(8, 1234)).run(x)
    s = output_scores(out, loaded.graph.run_float(x), True)
    assert c.psnr_db == pytest.approx(s["psnr_db"], abs=1e-12)
    assert ev(a, "other") is c          # cached by assignment


def test_pareto_set_and_budget(isaac):
    front = isaac.pareto()
    for a in front:
        assert not any(b.energy_uj <= a.energy_uj and b.psnr_db >= a.psnr_db
                       and (b.energy_uj < a.energy_uj or b.psnr_db > a.psnr_db) for b in isaac.candidates)
    for a in isaac.candidates:
        if a not in front:
            assert any(b.energy_uj <= a.energy_uj and b.psnr_db >= a.psnr_db for b in front)
    budget = (front[0].energy_uj + front[-1].energy_uj) / 2
    best = isaac.best_within(budget)
    assert best.energy_uj <= budget
    assert best.psnr_db == max(c.psnr_db for c in isaac.candidates if c.energy_uj <= budget)
    assert isaac.best_within(front[0].energy_uj / 2) is None


def test_apgan_rule_binarises_the_largest_inputs_and_the_search_beats_it(isaac):
    ev = Evaluator("dcgan-digits", "isaac-like", n_inputs=2, calib=2)
    order = sorted(ev.layers, key=lambda l: -ev.redundancy[l])
    assert ev.redundancy == {"deconv1": 64, "deconv2": 2048, "deconv3": 4096, "deconv4": 8192}
    rules = apgan_assignments(ev, isaac.ladder)
    for k, (name, a) in enumerate(rules, start=1):
        assert name == f"apgan-k{k}" and {l for l, f in a.items() if f == "w1a8"} == set(order[:k])
    apgan = [k for k in isaac.beats if k.startswith("apgan")]
    assert len(apgan) == 4 and all(isaac.beats[k] is not None for k in apgan)   # issue 15: must beat ApGAN


def test_cli_prints_the_pareto_set_and_writes_json(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["search", "--ladder", "w8a8,w4a8", "--n", "4", "--calib", "4", "--budget-dram-bytes", "1e9",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Pareto set" in text and "best within --budget-dram-bytes" in text and "ApGAN" in text
    data = json.loads(out.read_text())
    assert data["cost"] == "dram_bytes" and data["best_within_budget"] is not None
    assert {"pareto", "path", "baselines", "beats", "evaluated"} <= set(data)
    assert all(not math.isnan(c["psnr_db"]) for c in data["evaluated"])


@pytest.mark.parametrize("argv,message", [
    (["--budget-uj", "-1"], "--budget-uj must be a positive number"),
    (["--budget-uj", "nan"], "--budget-uj must be a positive number"),
    (["--ladder", "w8a8"], "--ladder: ladder: give at least two formats"),
    (["--ladder", "fp32,w8a8"], "float format"),
    (["--ladder", "w8a8,w8a8"], "repeated"),
    (["--n", "0"], "--n must be in"),
    (["--lowering", "x"], "--lowering must be one of"),
    (["--arch", "nope"], "unknown arch preset"),
])
def test_bad_arguments_are_one_line(argv, message, capsys):
    assert main(["search", "--n", "2", "--calib", "2"] + argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_two_budgets_are_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["search", "--budget-uj", "1", "--budget-dram-bytes", "2"])
    assert e.value.code == 2


def test_library_errors():
    with pytest.raises(ConfigError, match="cost must be one of"):
        search("dcgan-digits", "edge-npu", cost="latency")
    with pytest.raises(FormatError, match="at least two"):
        search("dcgan-digits", "edge-npu", ladder=("w8a8",))
    with pytest.raises(ConfigError, match="n_inputs"):
        Evaluator("dcgan-digits", "edge-npu", n_inputs=0)
