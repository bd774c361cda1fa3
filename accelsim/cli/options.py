"""Options shared by several commands, defined once so every command spells and documents them alike."""
from __future__ import annotations

import argparse
import os

from accelsim.errors import ConfigError

MODEL_HELP = ("the generator: a shipped name ('accelsim models'), path/to/file.py:NAME (an nn.Module class "
              "or a factory returning a module or (module, example_inputs)), or path/to/model.onnx "
              "(default %(default)s)")


def examples(*commands: str) -> dict:
    """``add_parser`` keywords that end a command's --help with these example command lines
    (tests/test_cli_help.py parses every one of them)."""
    return {"epilog": "examples:\n" + "\n".join(f"  {c}" for c in commands),
            "formatter_class": argparse.RawDescriptionHelpFormatter}


def add_model(p, default: str = "dcgan-digits") -> None:
    p.add_argument("--model", default=default, metavar="REF", help=MODEL_HELP)
    p.add_argument("--input-shape", action="append", metavar="C,H,W", dest="input_shape",
                   help="input shape of a file.py:NAME module, batch excluded; repeat once per input")


class naming:
    """Context: a library error of ``kinds`` raised inside gets the CLI option it came from as a
    prefix (``--format: unknown format int99``); the library itself never names CLI flags."""

    def __init__(self, option: str, *kinds):
        self.option, self.kinds = option, kinds

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is not None and isinstance(exc, self.kinds) and not str(exc).startswith(self.option):
            raise type(exc)(f"{self.option}: {exc}") from exc
        return False


class as_options:
    """Context: a library error of ``kinds`` whose message starts with the name of a field in
    ``fields`` (field -> CLI option) as ``buffer: ...`` or ``jobs must be ...`` names the option
    instead (``--buffer: ...``); ``hints`` (text -> text) rewrite a parameter the message suggests
    (``force=True`` -> ``--force``). The library names its parameters; the command line its flags."""

    def __init__(self, fields: dict, *kinds, hints: dict | None = None):
        self.fields, self.kinds, self.hints = fields, kinds, hints or {}

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is None or not isinstance(exc, self.kinds):
            return False
        text = new = str(exc)
        for field in sorted(self.fields, key=len, reverse=True):   # export_path before export
            if new.startswith((f"{field}:", f"{field} must ")):
                new = self.fields[field] + new[len(field):]
                break
        for old, hint in self.hints.items():
            new = new.replace(old, hint)
        if new != text:
            raise type(exc)(new) from exc
        return False


def file_of(ref: str | None) -> str | None:
    """The file a model reference reads (for output-vs-input checks), or None for a shipped name."""
    if not ref:
        return None
    return ref.rsplit(":", 1)[0] if ".py:" in ref else (ref if ref.lower().endswith(".onnx") else None)


MAX_BATCH = 4096          # images per simulated batch: the simulator's DRAM tables grow with it


def check_batch(batch: int) -> int:
    if not 1 <= batch <= MAX_BATCH:
        raise ConfigError(f"--batch must be in [1, {MAX_BATCH}], got {batch}")
    return batch


def check_calib(calib: int) -> int:
    from accelsim.runtime.quantized import MAX_CALIB
    if not 1 <= calib <= MAX_CALIB:
        raise ConfigError(f"--calib must be in [1, {MAX_CALIB}], got {calib}")
    return calib


def max_jobs() -> int:
    """Worker processes allowed: four per CPU (at least 4), so a typo cannot fork the machine to death."""
    return max(4, 4 * (os.cpu_count() or 1))


def check_jobs(jobs: int) -> int:
    cap = max_jobs()
    if not 1 <= jobs <= cap:
        raise ConfigError(f"--jobs must be in [1, {cap}] (4 per CPU on this machine), got {jobs}")
    return jobs


def add_fusion(p) -> None:
    p.add_argument("--fusion", default="none", metavar="none|auto",
                   help="layer fusion: none (default: every activation through DRAM) or auto (stacks of layers keep "
                        "their activations on chip, whole or in row bands; never more DRAM bytes; docs/simulator.md)")


def check_fusion(value: str) -> str:
    from accelsim.mapping.fusion import FUSION_MODES
    if value not in FUSION_MODES:
        raise ConfigError(f"--fusion must be one of {', '.join(FUSION_MODES)}, got {value!r}")
    return value
