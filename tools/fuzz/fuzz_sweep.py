"""Fuzz the sweep option parsers (accelsim.sweep.space: parse_size, parse_size_range, parse_list,
parse_formats, parse_arrays, parse_drams, parse_dataflows; and accelsim.adc_sweep.parse_bits) on
random strings: grammar-shaped ones (numbers of every form, units, ':' 'x' ',' separators, unicode
whitespace and digits, very long digit runs) and raw fuzzer text.

Each call must return a well-formed value (sizes: ascending, distinct, positive ints, at most
MAX_STEPS of them; arrays: distinct (rows, cols) in [1, 1024]; names: distinct and allowed; ADC
bits: in [1, 16]) or raise a one-line ValueError naming the option, within 0.5 s.

usage: python tools/fuzz/fuzz_sweep.py --seconds 120     (summary: fuzz-out/sweep/summary.json)
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import COUNTS, Finding, main  # noqa: E402

S = None
NUMBERS = ["0", "1", "16", "64", "1.5", ".5", "5.", "1e3", "1E-3", "1e308", "1e309", "9" * 30, "1" * 5000, "-4",
           "+4", "nan", "inf", "0x10", "1_000", "\u0663", "\uff11", "00016", "4.0000000001", "1e-400", "2.5e2"]
UNITS = ["B", "KiB", "MiB", "GiB", "", "kib", "KB", "K", "TiB", "\u212a", " KiB", "KiB ", "iB"]
SEPS = [":", ":", ",", "x", "X", "::", " ", "\u00a0", "\t", "\n", ":x", ":X"]


def setup() -> None:
    global S
    from accelsim import adc_sweep
    from accelsim.sweep import space
    S = (space, adc_sweep)


def grammar_text(fdp) -> str:
    parts = []
    for _ in range(fdp.ConsumeIntInRange(1, 6)):
        kind = fdp.ConsumeIntInRange(0, 3)
        if kind == 0:
            parts.append(fdp.PickValueInList(NUMBERS) + fdp.PickValueInList(UNITS))
        elif kind == 1:
            parts.append(fdp.PickValueInList(SEPS))
        elif kind == 2:
            parts.append(fdp.PickValueInList(["x2", "x1.5", "x1", "x0", "x1e300", "x1.0000001", "xnan", "xinf",
                                              "100000", "100001", "3", "1", "0", "16x16", "1024x1024", "0x5",
                                              "os", "ws", "int8", "all", "lpddr4", "hbm2", "phase", "3:10"]))
        else:
            parts.append(fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 12)))
    return "".join(parts)


def timed(fn, *args):
    t0 = time.perf_counter()
    try:
        out = fn(*args)
        err = None
    except ValueError as exc:
        out, err = None, exc
    except Exception as exc:  # noqa: BLE001
        raise Finding("unclean-exception", f"{fn.__name__}({args[0]!r:.80}): {type(exc).__name__}: {str(exc)[:150]}",
                      f"{fn.__name__} {type(exc).__name__}: {str(exc)[:40]}") from exc
    dt = time.perf_counter() - t0
    if dt > 0.5:
        raise Finding("slow", f"{fn.__name__}({args[0]!r:.80}) took {dt:.2f} s", f"{fn.__name__} slow")
    return out, err


def check(data: bytes) -> None:
    import atheris
    fdp = atheris.FuzzedDataProvider(data)
    space, adc = S
    text = grammar_text(fdp) if fdp.ConsumeBool() else fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    which = fdp.ConsumeIntInRange(0, 7) if fdp.remaining_bytes() else hash(text) % 8
    option = "--opt"
    calls = {
        0: (space.parse_size, (text, option)),
        1: (space.parse_size_range, (text, option)),
        2: (space.parse_size_range, (text, option)),
        3: (space.parse_arrays, (text, option)),
        4: (space.parse_formats, (text, option)),
        5: (space.parse_drams, (text, option)),
        6: (space.parse_dataflows, (text, option)),
        7: (adc.parse_bits, (text,)),
    }
    fn, args = calls[which]
    out, err = timed(fn, *args)
    name = fn.__name__
    if err is not None:
        msg = str(err)
        want = "--adc-bits" if which == 7 else option
        if "\n" in msg or want not in msg:
            raise Finding("bad-message", f"{name}({text!r:.80}): {msg[:200]!r}",
                          f"{name} message: {''.join(c for c in msg if c.isalpha() or c == ' ')[:50]}")
        COUNTS[f"{name}: ValueError"] += 1
        return
    COUNTS[f"{name}: parsed"] += 1
    if which == 0:
        ok = isinstance(out, int) and out > 0
    elif which in (1, 2):
        ok = (isinstance(out, tuple) and 1 <= len(out) <= space.MAX_STEPS
              and all(isinstance(v, int) and v > 0 for v in out) and list(out) == sorted(set(out)))
    elif which == 3:
        ok = isinstance(out, tuple) and out and len(set(out)) == len(out) and all(
            isinstance(r, int) and isinstance(c, int) and 1 <= r <= 1024 and 1 <= c <= 1024 for r, c in out)
    elif which == 7:
        ok = isinstance(out, list) and out and all(isinstance(b, int) and 1 <= b <= 16 for b in out) and len(out) <= 16
    else:
        ok = isinstance(out, tuple) and out and len(set(out)) == len(out) and all(isinstance(v, str) for v in out)
    if not ok:
        raise Finding("wrong-answer", f"{name}({text!r:.80}) returned {out!r:.120}", f"{name} bad result")


if __name__ == "__main__":
    sys.exit(main("sweep", setup, check))
