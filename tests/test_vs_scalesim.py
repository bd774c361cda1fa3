"""benchmarks/vs_scalesim.py's measured result in docs/simulator.md is generated, not typed: every table
marked ``<!-- generated: python benchmarks/vs_scalesim.py --tables-from PATH (name) -->`` is exactly what
``markdown_tables`` prints from that committed JSON, and that run's cycles were identical."""
import json
import pathlib
import re
from tests.bench_modules import ROOT, load_benchmark

MARK = re.compile(r"<!-- generated: python benchmarks/vs_scalesim\.py --tables-from (\S+) \((\w+)\) -->\n")


def _bench():
    return load_benchmark('vs_scalesim')


def test_doc_tables_are_generated_from_the_committed_run():
    v = _bench()
    doc = pathlib.Path(ROOT, "docs", "simulator.md").read_text()
    marks = list(MARK.finditer(doc))
    assert {m.group(2) for m in marks} >= {"runs", "layers", "summary"}
    for m in marks:
        path = pathlib.Path(ROOT, m.group(1))
        run = json.loads(path.read_text())
        md = v.markdown_tables(run)[m.group(2)]
        assert doc[m.end():].startswith(md + "\n"), f"regenerate {m.group(2)} with --tables-from {m.group(1)}"
        if run["runs"]:
            assert run["checks"]["cycles_identical"] is True
        if m.group(2) == "goldens":
            assert run["checks"]["scalesim_equals_goldens"] is True
            assert run["checks"]["os_dram_not_above_scalesim"] is True
