"""benchmarks/bench_reproductions.py: the pieces that decide its conclusions (the size-vs-FID Pareto set,
the frontier's combination names) and its bad input (one-line errors, no training started)."""
import os
import subprocess
import sys

import pytest

from tests.bench_modules import ROOT, load_benchmark

BENCH = os.path.join(ROOT, "benchmarks", "bench_reproductions.py")


def bench():
    return load_benchmark('bench_reproductions')


def test_pareto_size_fid():
    rows = [{"name": "a", "compression_ratio": 1.0, "fid": 17.0}, {"name": "b", "compression_ratio": 20.0, "fid": 25.0},
            {"name": "c", "compression_ratio": 15.0, "fid": 30.0}, {"name": "d", "compression_ratio": 40.0, "fid": 60.0},
            {"name": "e", "compression_ratio": 20.0, "fid": 25.0}]
    assert bench().pareto_size_fid(rows) == ["a", "b", "d", "e"]     # c is beaten by b; ties both stay


@pytest.mark.parametrize("name, needle", [("ternary", "is not <kind>-qat"), ("ternary-qat[lr]", "unknown option"),
                                          ("binary-qat[depth=3]", "unknown option"),
                                          ("binary-qat[sched=cosin]", "sched= must be one of constant, cosine"),
                                          ("binary-qat[lr=abc]", "lr= must be a number"),
                                          ("binary-qat[last=int4]", "last= must be int8")])
def test_new_combo_names_are_checked_before_training(name, needle):
    with pytest.raises(ValueError, match=needle):
        bench()._build_new(name, None, 1, 1)


def test_bad_new_combo_is_a_usage_error_before_any_work():
    res = subprocess.run([sys.executable, BENCH, "--papers", "frontier", "--new-combos",
                          "ternary-qat[steps=5],binary-qat[lr=0.002,sched=cosin]"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "sched= must be one of" in res.stderr and "Traceback" not in res.stderr


def test_unknown_paper_is_a_usage_error():
    res = subprocess.run([sys.executable, BENCH, "--papers", "flexpoint,nope"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "'nope' is not one of" in res.stderr


def test_stored_frontier_models_record_the_steps_they_were_trained_for():
    """The provenance of every committed frontier model names the QAT steps its combination ran (the
    name's ``steps=``, else the default budget's) and its hash covers exactly that record."""
    import glob
    import hashlib
    import json
    import re

    from accelsim.compress import serialize
    from accelsim.compress.recipe import TrainingBudget
    paths = glob.glob(os.path.join(ROOT, "benchmarks", "results", "repro-frontier-*.npz"))
    assert paths
    with open(os.path.join(ROOT, "benchmarks", "results", "repro-frontier.json")) as f:
        frontier = json.load(f)
    hashes = json.dumps(frontier)
    for path in paths:
        prov = serialize.provenance(path)
        m = re.search(r"steps=(\d+)", prov["recipe"])
        assert prov["budget"]["qat_steps"] == (int(m[1]) if m else TrainingBudget().qat_steps), path
        record = {k: v for k, v in prov.items() if k != "hash"}
        assert prov["hash"] == hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
        assert prov["hash"] in hashes


def test_mfagan_checks_hold_on_the_committed_run_and_fail_when_a_claim_is_false():
    """docs/reproductions.md's MFAGAN conclusions are mfagan_checks of benchmarks/results/repro-mfagan.json;
    each check turns false when its claim does (a chosen width over its budget, an adversarial gain
    beyond the pixel-only seed spread, a pixel-only student above bicubic)."""
    import copy
    import json
    with open(os.path.join(ROOT, "benchmarks", "results", "repro-mfagan.json")) as f:
        data = json.load(f)
    checks, spread, gain = bench().mfagan_checks(data)
    assert all(checks.values()) and checks == data["checks"] and 0 < gain < spread
    over = copy.deepcopy(data)
    over["searches"][0]["chosen"]["energy_uj"] = over["searches"][0]["budget_uj"] + 1
    assert not bench().mfagan_checks(over)[0]["every chosen width is within its energy budget (simulator, and compare's row)"]
    adv = copy.deepcopy(data)
    next(r for r in adv["rows"] if r.get("adv_weight") == 0.01)["psnr_gt_db"] += spread
    assert not list(bench().mfagan_checks(adv)[0].values())[-1]
    bic = copy.deepcopy(data)
    next(r for r in bic["rows"] if r.get("seed") == 1)["psnr_gt_db"] = data["bicubic_psnr_gt_db"] + 0.01
    assert not bench().mfagan_checks(bic)[0]["no pixel-only student beats bicubic x4 against HR"]


def test_new_combos_split_keeps_options_together():
    b = bench()
    assert b.split_combos(",".join(b.NEW_COMBOS)) == list(b.NEW_COMBOS)
    assert b.split_combos("ternary-qat[lr=0.002,steps=5]+huffman, binary-qat") == \
        ["ternary-qat[lr=0.002,steps=5]+huffman", "binary-qat"]
    assert b.split_combos("") == []
