"""One progress line for every long command (issue 16 item 3): a redrawn bar with an ETA on a terminal,
nothing elsewhere unless asked, then plain lines at most every few seconds."""
import io

from accelsim.cli.progress import Progress, duration, wanted


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_terminal_bar_is_one_redrawn_line_with_eta():
    out = Tty()
    p = Progress("compare", "rows", stream=out, redraw_s=0.0)
    for k in range(4):
        p(k, 4, f"recipe{k}")
    p(4, 4, "done")
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n") and text.count("\n") == 1
    last = text.split("\r")[-1]
    assert "compare [" + "#" * 20 + "] 4/4 rows (100.0 %)" in last and "eta 0 s" in last and "done" in last


def test_not_a_terminal_logs_sparse_plain_lines():
    out = io.StringIO()
    p = Progress("sweep", "pt", stream=out, log_s=3600.0)
    for k in range(100):
        p(k, 100)
    p(100, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in out.getvalue()      # the first call and the end only
    assert lines[-1].startswith("sweep [") and "100/100 pt" in lines[-1]


def test_shown_on_a_terminal_or_when_asked():
    assert wanted(None, Tty()) and not wanted(None, io.StringIO())
    assert wanted(True, io.StringIO()) and not wanted(False, Tty())
    assert duration(42) == "42 s" and duration(780) == "13 min" and duration(float("inf")) == "?"


def test_compare_reports_each_row():
    from accelsim import compare
    calls = []
    rows = compare.evaluate("dcgan-digits", ["int8", "ternary"], n_images=4, n_fid=0,
                            progress=lambda d, t, detail: calls.append((d, t, detail)))
    assert len(rows) == 2 and calls == [(0, 2, "int8"), (1, 2, "ternary"), (2, 2, "done")]


def test_status_and_each_on_a_terminal_only():
    from accelsim.cli.progress import each, model_status, status
    out = Tty()
    with status("importing m.py:G", out):
        pass
    assert out.getvalue().startswith("importing m.py:G ...\rimporting m.py:G: ") and out.getvalue().endswith(" s\n")
    quiet = io.StringIO()
    with status("importing m.py:G", quiet):
        pass
    with model_status("dcgan-digits", Tty()):   # a name is not an import
        pass
    assert quiet.getvalue() == ""
    assert list(each(["a", "b"], "energy", "formats", False)) == ["a", "b"]


def test_default_stream_is_the_stderr_of_now(monkeypatch):
    """No stream given: the bar writes to sys.stderr as it is when the bar is made (b6a97f7 left
    ``stream.isatty()`` on the None argument: every --progress run without a stream crashed)."""
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    bar = Progress("search", "assignments")
    bar(1, 2)
    bar(2, 2)
    assert "search" in err.getvalue() and "2/2" in err.getvalue()


def test_search_progress_from_the_command_line(capsys):
    from accelsim.cli import main
    assert main(["search", "--ladder", "w8a8,w4a8", "--n", "4", "--calib", "4", "--progress"]) == 0
    assert "search" in capsys.readouterr().err
