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
