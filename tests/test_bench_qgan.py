"""benchmarks/bench_qgan.py: the table in docs/reproductions.md is the one --table-from prints from the
committed runs (not typed), the claim the doc makes holds on them, and QGAN's multi-precision choice
takes the fewest generator bits, then discriminator bits, by mean FID over the seeds."""
import os
import pathlib
import re
from tests.bench_modules import ROOT, load_benchmark

MARK = re.compile(r"<!-- generated: python benchmarks/bench_qgan\.py --table-from (\S+) -->\n")


def _bench():
    return load_benchmark('bench_qgan')


def test_doc_table_is_generated_and_its_claim_holds():
    b = _bench()
    doc = pathlib.Path(ROOT, "docs", "reproductions.md").read_text()
    marks = list(MARK.finditer(doc))
    assert len(marks) == 1
    paths = ",".join(os.path.join(ROOT, p) for p in marks[0].group(1).split(","))
    run = b.load_runs(paths)
    assert doc[marks[0].end():].startswith(b.table(run) + "\n")
    assert sorted({r["seed"] for r in run["rows"]}) == [0, 1]
    beats = b.trained_beats_frozen(run["rows"])
    assert beats and all(beats.values()) and len(beats) == 4


def _row(g, gb, d, db, fid, seed=0):
    return {"g_kind": g, "g_bits": gb, "d_kind": d, "d_bits": db, "fid": fid, "psnr_db": 20.0, "fmt": g, "seed": seed}


def test_choice_and_claim_logic():
    b = _bench()
    rows = [_row("int4", 4, "frozen", 32, 30), _row("int4", 4, "fp32", 32, 25), _row("int4", 4, "int2", 2, 29),
            _row("ternary", 2, "frozen", 32, 40), _row("ternary", 2, "fp32", 32, 31.5),
            _row("ternary", 2, "fp32", 32, 29.5, seed=1), _row("ternary", 2, "frozen", 32, 28, seed=1)]
    c = b.choose(rows, 31.0)
    assert (c["g_kind"], c["d_kind"]) == ("ternary", "fp32") and abs(c["fid"] - 30.5) < 1e-12
    assert b.choose(rows, 10.0) is None
    assert b.trained_beats_frozen(rows) == {"int4": True, "ternary": False}   # seed 1: 29.5 is not < 28
    assert b.trained_beats_frozen([_row("int4", 4, "fp32", 32, 25)]) is None
