"""Every command's --help ends with examples, and every example is a command line the parser accepts
(so an example cannot name an option or choice that does not exist)."""
import argparse
import shlex

import pytest

from accelsim.cli import build_parser


def _parsers():
    """(command words, parser) for the top level and every subcommand, nested ones included."""
    out, todo = [], [((), build_parser())]
    while todo:
        words, p = todo.pop()
        out.append((words, p))
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += [((*words, name), sp) for name, sp in action.choices.items()]
    return out


PARSERS = _parsers()


def _examples(p) -> list[str]:
    text = p.format_help()
    assert "examples:" in text
    lines = text.split("examples:", 1)[1].splitlines()
    cmds = [c.strip() for ln in lines if ln.strip().startswith("accelsim") for c in ln.split(";")]
    return [c for c in cmds if c]


@pytest.mark.parametrize("words,p", PARSERS, ids=[" ".join(w) or "accelsim" for w, _ in PARSERS])
def test_help_has_examples_that_parse(words, p):
    cmds = _examples(p)
    assert len(cmds) >= 2, f"accelsim {' '.join(words)}: fewer than two examples"
    for cmd in cmds:
        argv = shlex.split(cmd)
        assert argv[0] == "accelsim"
        build_parser().parse_args(argv[1:])     # SystemExit (status 2) if an option or choice is wrong


def test_every_command_is_covered():
    names = {w[0] for w, _ in PARSERS if w}
    assert {"energy", "compare", "sweep", "validate", "vectors", "generate", "adc-sweep", "models", "formats",
            "archs"} <= names


# The examples of the quick commands also run (seconds each): exit status 0, in a scratch directory.
RUNNABLE = ("energy", "models", "formats", "archs")


@pytest.mark.parametrize("cmd", sorted({c for w, p in PARSERS for c in _examples(p)
                                        if shlex.split(c)[1] in RUNNABLE}))
def test_quick_examples_run(cmd, tmp_path, monkeypatch, capsys):
    from accelsim.cli import main
    argv = shlex.split(cmd)[1:]
    if any(a.startswith("examples/") for a in argv):
        pytest.importorskip("torch")
        import pathlib
        root = pathlib.Path(__file__).resolve().parents[1]
        argv = [str(root / a) if a.startswith("examples/") else a for a in argv]
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0
