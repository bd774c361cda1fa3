"""Options shared by several commands, defined once so every command spells and documents them alike."""
from __future__ import annotations

MODEL_HELP = ("the generator: a shipped name ('accelsim models'), path/to/file.py:NAME (an nn.Module class "
              "or a factory returning a module or (module, example_inputs)), or path/to/model.onnx "
              "(default %(default)s)")


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
