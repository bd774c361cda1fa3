"""Progress of long commands (compare, sweep, validate): one line on stderr.

On a terminal, one redrawn line, at most ``redraw_s`` apart::

    compare [##########..........] 12/29  0.8 /s  eta 21 s  distilled+int8

Elsewhere (a pipe, a log file, CI) nothing by default; a command given ``--progress`` explicitly
prints a plain line at most every ``log_s`` seconds instead, so logs stay short. ``detail`` adds a
command's own words (the mismatches so far, the recipe being built).
"""
from __future__ import annotations

import contextlib
import sys
import time

BAR_CELLS = 20


def duration(s: float) -> str:
    """``42 s``, ``13 min``, ``2.5 h``; ``?`` when unknown."""
    if s != s or s == float("inf"):
        return "?"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def wanted(option: bool | None, stream=None) -> bool:
    """Whether to show progress: ``--progress``/``--no-progress`` when given, else on a terminal."""
    return (stream or sys.stderr).isatty() if option is None else bool(option)


class Progress:
    """Call ``progress(done, total, detail="")`` as work completes; the last call (done == total)
    ends the line."""

    def __init__(self, label: str, unit: str = "", stream=None, redraw_s: float = 0.1, log_s: float = 5.0,
                 deadline: float | None = None):
        self.label, self.unit, self.stream = label, unit, stream or sys.stderr   # the stderr of now, not of import
        self.tty = self.stream.isatty()
        self.every = redraw_s if self.tty else log_s
        self.t0, self.last = time.perf_counter(), float("-inf")
        self.deadline = deadline       # a wall-clock end (time.time()) that bounds the ETA

    def __call__(self, done: int, total: int, detail: str = "") -> None:
        now = time.perf_counter()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        eta = (total - done) / rate if rate > 0 else float("inf")
        if self.deadline is not None:
            eta = min(eta, max(0.0, self.deadline - time.time()))
        frac = done / total if total else 1.0
        bar = "#" * int(BAR_CELLS * frac)
        unit = f" {self.unit}" if self.unit else ""
        line = (f"{self.label} [{bar:<{BAR_CELLS}}] {done}/{total}{unit} ({100.0 * frac:.1f} %)  "
                f"{rate:.3g}{unit}/s  eta {duration(eta)}" + (f"  {detail}" if detail else ""))
        if self.tty:
            self.stream.write(f"\r{line[:119]:<119}" + ("\n" if done >= total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


@contextlib.contextmanager
def status(text: str, stream=None):
    """``text ...`` on a terminal while the block runs (an import, a long step without a count), then
    ``text: 4.2 s``; nothing elsewhere."""
    stream = stream or sys.stderr
    if not stream.isatty():
        yield
        return
    t0 = time.perf_counter()
    stream.write(f"{text} ...")
    stream.flush()
    try:
        yield
    finally:
        stream.write(f"\r{text}: {duration(time.perf_counter() - t0)}\n")
        stream.flush()


def model_status(ref: str, stream=None):
    """``status`` for loading a model reference: only for a file (a .py or .onnx import), not a name."""
    is_file = isinstance(ref, str) and (ref.lower().endswith(".onnx") or ".py:" in ref)
    return status(f"importing {ref}", stream) if is_file else contextlib.nullcontext()


def each(items, label: str, unit: str, show: bool):
    """``items`` with a progress bar over them when ``show``."""
    items = list(items)
    bar = Progress(label, unit) if show else None
    for k, item in enumerate(items):
        if bar:
            bar(k, len(items), str(item))
        yield item
    if bar:
        bar(len(items), len(items), "done")
