"""accelsim report (issue 16 item 4): one self-contained HTML page whose numbers are its data's."""
import html.parser
import json
import re

import pytest

from accelsim.cli import main


class Tables(html.parser.HTMLParser):
    """Every <table class=...> as rows of cell texts; every src/href attribute; the embedded data."""

    def __init__(self):
        super().__init__()
        self.tables, self.links, self.data, self._cls, self._cell, self._script = {}, [], None, None, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.links += [v for k, v in attrs if k in ("src", "href")]
        if tag == "table":
            self._cls = a.get("class")
            self.tables[self._cls] = []
        elif tag == "tr" and self._cls:
            self.tables[self._cls].append([])
        elif tag in ("td", "th") and self._cls:
            self._cell = ""
        elif tag == "script" and a.get("id") == "accelsim-data":
            self._script = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._cls][-1].append(self._cell)
            self._cell = None
        elif tag == "table":
            self._cls = None
        elif tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._script:
            self.data = (self.data or "") + data


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    assert main(["sweep", "--out", str(d / "s.db"), "--buffer", "16KiB:256KiB:3", "--format", "w8a8", "--jobs", "1"]) == 0
    assert main(["report", "--sweep", str(d / "s.db"), "--compare", "int8,ternary,xnor", "--images", "8",
                 "--out", str(d / "r.html"), "--json", str(d / "r.json")]) == 0
    text = (d / "r.html").read_text()
    p = Tables()
    p.feed(text)
    return text, p, json.loads((d / "r.json").read_text())


def test_the_page_is_self_contained_and_holds_its_data(page):
    text, p, doc = page
    assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 4   # breakdown, roofline, Pareto, sweep
    assert p.links == [] and not re.search(r"""(src|href)=|@import|url\(""", text)   # nothing fetched
    assert json.loads(p.data) == doc


def test_every_number_on_the_page_is_the_datas(page):
    _, p, doc = page
    summary = {r["format"]: r for r in doc["energy"]["summary"]["rows"]}
    rows = p.tables["summary"][1:]
    assert [r[0] for r in rows] == list(summary)
    for r in rows:
        s = summary[r[0]]
        assert float(r[1]) == pytest.approx(s["energy_per_image_uj"], abs=5e-5)
        assert int(r[3].replace(",", "")) == round(s["dram_bytes_per_image"])
        assert float(r[5]) == pytest.approx(s["latency_us_per_image"], abs=5e-3 + 1e-9)
    layers = [(res["format"], l) for res in doc["energy"]["results"] for l in res["layers"]]
    assert len(p.tables["layers"]) - 1 == len(layers)
    for cells, (fmt, l) in zip(p.tables["layers"][1:], layers):
        assert cells[:2] == [fmt, l["name"]] and int(cells[6].replace(",", "")) == l["cycles"]
        assert float(cells[8]) == pytest.approx(100 * l["utilization"], abs=0.05)
    names = [r[0] for r in p.tables["compare"][1:]]
    assert names == ["int8", "ternary", "xnor"] == [r["name"] for r in doc["compare"]["rows"]]
    assert [r[0] for r in p.tables["sweep"][1:]] == [a["fmt"] for a in doc["sweep"]["answers"]]


@pytest.mark.parametrize("argv,message", [
    (["--out", "r.png"], "--out: r.png: the report is an HTML page"),
    (["--sweep", "missing.db", "--out", "r.html"], "--sweep: missing.db: no such sweep store"),
    (["--compare", "int8,bogus", "--out", "r.html"], "--compare"),
    (["--images", "0", "--out", "r.html"], "--images"),
])
def test_bad_input_is_one_line_and_writes_nothing(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and list(tmp_path.iterdir()) == []
