"""accelsim validate: the table, the JSON schema, the exit status, and that a broken kernel is caught."""
import json

import pytest

from accelsim import kernels
from accelsim.cli import main


def test_validate_all_formats_json(tmp_path, capsys):
    out = tmp_path / "v.json"
    assert main(["validate", "--cases", "15", "--seed", "3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    for name in ["int8", "int4", "int16", "ternary", "binary_w_int8_a", "binary", "flex16"]:
        assert data["formats"][name]["cases"] == 15
        assert data["formats"][name]["mismatches"] == 0
    assert "total" in capsys.readouterr().out


def test_validate_detects_a_wrong_kernel(monkeypatch, capsys):
    real = kernels.conv_int

    def off_by_one(*a, **k):
        out = real(*a, **k)
        out.flat[0] += 1
        return out

    monkeypatch.setattr(kernels, "conv_int", off_by_one)
    assert main(["validate", "--cases", "3", "--formats", "int8"]) == 1
    assert "MISMATCH" in capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [
    (["validate", "--cases", "0"], "--cases"),
    (["validate", "--formats", "int9"], "unknown format"),
    (["validate", "--isa", "sse9"], "--isa"),
    (["validate", "--cases", "1", "--json", "/nonexistent-dir/x.json"], "cannot write"),
])
def test_validate_bad_arguments(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_wide_space_reaches_every_width(capsys):
    """validate --space wide: every activation and weight width 2..16, larger geometries; 0 mismatches."""
    import numpy as np

    from accelsim.validate.cases import ALL_FORMATS, INT_FORMATS, SPACES, random_spec
    widths_a = {v[0] for f, v in INT_FORMATS.items() if f in ALL_FORMATS}
    widths_w = {v[2] for f, v in INT_FORMATS.items() if f in ALL_FORMATS and v[1] == "fixed"}
    assert set(range(2, 17)) <= widths_a and set(range(2, 17)) <= widths_w | {2}
    rng = np.random.default_rng(0)
    specs = [random_spec(rng, space="wide") for _ in range(300)]
    assert max(s[0].groups for s in specs) == 4 and max(s[1][2] for s in specs) == SPACES["wide"]["max_hw"]
    assert max(s[1][1] // s[0].groups for s in specs) > 200          # channels per group toward 256
    assert main(["validate", "--space", "wide", "--cases", "2", "--formats", "w16a2,w6a9,w13a15"]) == 0
    assert " 0   (" in capsys.readouterr().out


def test_format_and_lowering_are_the_option_names(capsys):
    """One option name per concept (issue 16 item 2): --format takes the registry's names (and the old
    ones); --formats/--lowerings still work, and giving both names of one option is an error."""
    assert main(["validate", "--cases", "2", "--format", "w8a8,flex16+5,w1a1", "--lowering", "scatter"]) == 0
    out = capsys.readouterr().out
    assert all(f in out for f in ("int8", "flex16", "binary")) and "golden lowerings scatter" in out
    assert main(["validate", "--cases", "2", "--formats", "int8", "--lowerings", "scatter,gather"]) == 0
    capsys.readouterr()
    assert main(["validate", "--format", "int8", "--formats", "int8"]) == 2
    assert "--format and --formats are the same option" in capsys.readouterr().err
    assert main(["validate", "--format", "w9a9"]) == 2
    assert capsys.readouterr().err.startswith("accelsim validate: error: --format: unknown format(s) 'w9a9'")
