"""The one exception hierarchy (accelsim.errors, issue 13 item 3): the library raises AccelsimError
subclasses, never a bare ValueError or TypeError; messages name the parameter or field, and the CLI
turns any of them into one line naming its option, exit status 2; an unknown key is reported with
every key allowed there."""
import ast
import pathlib

import pytest

import accelsim
from accelsim.cli import main
from accelsim.cli.options import as_options, naming
from accelsim.errors import AccelsimError, ConfigError, FormatError, InfeasibleError, ModelError
from accelsim.vectors import VectorsError

PKG = pathlib.Path(accelsim.__file__).parent
BARE = ("ValueError", "TypeError")

# Files allowed to keep bare ValueError/TypeError raises, with the most they may hold. Keep it small;
# every entry says why. A count may only go down; an entry whose file has none left must be removed.
ALLOWED = {
}


def _bare_errors(path: pathlib.Path) -> list[int]:
    """Lines that raise or construct a bare ValueError/TypeError (``raise ValueError(...)``,
    ``raise TypeError``, ``return ValueError(...)`` to be raised later)."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name) and node.exc.id in BARE:
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BARE:
            lines.append(node.lineno)
    return sorted(set(lines))


def test_no_bare_value_or_type_errors_in_the_library():
    found = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        lines = _bare_errors(path)
        if lines:
            found[rel] = lines
    over = {rel: lines for rel, lines in found.items() if len(lines) > ALLOWED.get(rel, 0)}
    assert not over, ("raise an accelsim.errors class (ConfigError, FormatError, ModelError, InfeasibleError) "
                      f"instead of a bare ValueError/TypeError: {over}")
    stale = sorted(rel for rel in ALLOWED if rel not in found)
    assert not stale, f"no bare ValueError/TypeError left in {stale}: remove the entry from ALLOWED"


def test_the_scan_finds_bare_raises(tmp_path):
    path = tmp_path / "sample.py"
    path.write_text("def f(x):\n    if x:\n        raise ValueError('x')\n    if not x:\n        raise TypeError\n"
                    "    return ValueError('later')\n\ndef g():\n    try:\n        pass\n    except ValueError:\n"
                    "        raise ConfigError('fine')\n")
    assert _bare_errors(path) == [3, 5, 6]


def test_hierarchy():
    for cls in (ConfigError, FormatError, ModelError, InfeasibleError, VectorsError):
        assert issubclass(cls, AccelsimError) and issubclass(cls, ValueError)


@pytest.mark.parametrize("cls", [ConfigError, FormatError, ModelError, InfeasibleError, VectorsError])
def test_cli_prints_any_library_error_as_one_line(cls, monkeypatch, capsys):
    import accelsim.workload.models

    def fail():
        raise cls("field.path: what is wrong")
    monkeypatch.setattr(accelsim.workload.models, "model_listing", fail)
    assert main(["models"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "accelsim models: error: field.path: what is wrong\n" and captured.out == ""


def test_cli_names_its_options():
    fields = {"buffer": "--buffer", "jobs": "--jobs", "out_path": "--export-path", "out": "--out"}
    for message, shown in [("buffer: 0B is empty", "--buffer: 0B is empty"),
                           ("jobs must be >= 1, got 0", "--jobs must be >= 1, got 0"),
                           ("out_path: cannot write x", "--export-path: cannot write x"),
                           ("buffers.ifmap.size_kib: out of range", "buffers.ifmap.size_kib: out of range"),
                           ("jobsite: unrelated", "jobsite: unrelated")]:
        with pytest.raises(ConfigError) as exc, as_options(fields, ConfigError):
            raise ConfigError(message)
        assert str(exc.value) == shown
    with pytest.raises(ModelError) as exc, as_options(fields, ConfigError):   # another kind: untouched
        raise ModelError("buffer: x")
    assert str(exc.value) == "buffer: x"
    with pytest.raises(VectorsError) as exc, as_options({}, AccelsimError, hints={"force=True": "--force"}):
        raise VectorsError("out_dir: d is not empty (force=True replaces it)")
    assert str(exc.value) == "out_dir: d is not empty (--force replaces it)"
    with pytest.raises(ConfigError) as exc, naming("--arch", ConfigError):
        raise ConfigError("clock_mhz: 0.0 is out of range")
    assert str(exc.value) == "--arch: clock_mhz: 0.0 is out of range"


def test_library_messages_name_parameters_not_flags():
    """The library is called from Python too: its messages name parameters and fields."""
    from accelsim.adc_sweep import parse_bits
    from accelsim.api import simulate
    from accelsim.sweep import parse_size_range
    from accelsim.vectors.export import check_run_options
    for call in (lambda: simulate(batch=0), lambda: simulate(lowering="sideways"),
                 lambda: parse_size_range("4MiB:16KiB"), lambda: parse_bits("0:20"),
                 lambda: check_run_options(0, 0, 1), lambda: simulate(arch="isaac-like", fmt="fp16")):
        with pytest.raises(AccelsimError) as exc:
            call()
        assert "--" not in str(exc.value), str(exc.value)


def test_a_float_format_on_crossbars_is_infeasible_and_a_bad_value_is_not():
    from accelsim.api import simulate
    with pytest.raises(InfeasibleError, match="cannot be stored in ReRAM cells"):
        simulate("dcgan-digits", "isaac-like", "fp16")
    with pytest.raises(ConfigError):
        simulate("dcgan-digits", "isaac-like", "int8", lowering="sideways")
    with pytest.raises(ConfigError):
        simulate("dcgan-digits", None)                    # a wrong type is the field's error, not a TypeError
    with pytest.raises(ModelError):
        from accelsim.formats.conv import ConvSpec
        ConvSpec.make(groups=1.9)


def test_points_file_unknown_key_lists_every_allowed_key(tmp_path):
    from accelsim.arch import load_arch
    from accelsim.sweep.points_file import KEYS, load_points
    path = tmp_path / "p.csv"
    path.write_text("format,colour\nint8,red\n")
    with pytest.raises(ConfigError) as exc:
        load_points(str(path), "dcgan-digits", "edge-npu", load_arch("edge-npu"), ("phase",), "dram", 1)
    head, _, listed = str(exc.value).partition("; allowed: ")
    assert head == f"{path} line 2: unknown key 'colour'"
    assert listed.split(", ") == sorted(KEYS)
