"""Command line entry point: parses arguments and calls the layers below. Nothing else.

Each subcommand lives in its own module exposing ``register(subparsers)``; the list below is the
whole command vocabulary.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from accelsim import __version__
from accelsim.blas import one_thread

# (module, one-line help); each module's register() adds its parser and sets ``func``.
SUBCOMMANDS = [
    "accelsim.cli.validate",
    "accelsim.cli.energy",
    "accelsim.cli.adc_sweep",
    "accelsim.cli.sweep",
    "accelsim.cli.vectors",
    "accelsim.cli.rtl",
    "accelsim.cli.generate",
    "accelsim.cli.compare",
    "accelsim.cli.search",
    "accelsim.cli.report",
    "accelsim.cli.listing",
]


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def ascii_int(text: str) -> int:
    """argparse type for integer options: ASCII digits with an optional sign, nothing else (Python's
    int() would also take '٨', '１２', ' 7' and '1_000')."""
    t = text[1:] if text[:1] in "+-" else text
    if not (t.isascii() and t.isdigit()):
        raise argparse.ArgumentTypeError(f"invalid integer {text!r} (ASCII digits only)")
    return int(text)


def ascii_float(text: str) -> float:
    """argparse type for number options: an ASCII decimal (float() also takes '١.٥', '1_0', ' 2 ')."""
    if not text.isascii() or not text or text != text.strip() or "_" in text:
        raise argparse.ArgumentTypeError(f"invalid number {text!r} (ASCII only)")
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``accelsim CMD: error: argument --cases: ...``, exit status 2, no
    usage block) and strict number types: ``type=int`` / ``type=float`` options parse ASCII only."""

    def add_argument(self, *args, **kwargs):
        if kwargs.get("type") is int:
            kwargs["type"] = ascii_int
        elif kwargs.get("type") is float:
            kwargs["type"] = ascii_float
        return super().add_argument(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="accelsim",
        description="What a GAN generator costs in silicon, and what each compression buys: energy per\n"
                    "image on an accelerator model, bit-exact quantized kernels and golden vectors, buffer\n"
                    "sweeps. 'accelsim COMMAND --help' shows each command's options and examples.",
        epilog="examples:\n"
               "  accelsim energy\n"
               "  accelsim energy --model examples/generators.py:cyclegan --format w8a8,w2a8\n"
               "  accelsim compare --model netG.onnx\n"
               "  accelsim models; accelsim formats; accelsim archs",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"accelsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for dest, value in vars(args).items():   # '--json ""' would otherwise be no output, silently
        if isinstance(value, str) and not value.strip() and dest != "command":
            print(f"accelsim {args.command}: error: --{dest.replace('_', '-')}: empty value", file=sys.stderr)
            return 2
    try:
        with one_thread():   # float BLAS on one thread: the same bits for any thread count (accelsim.blas)
            return int(args.func(args) or 0)
    except (CliError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        print(f"accelsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:       # `accelsim ... | head`: the reader left; no traceback, no further output
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 141
    except KeyboardInterrupt:
        print(f"accelsim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
