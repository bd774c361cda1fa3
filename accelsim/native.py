"""Where the native artefacts live: the C ABI header and shared library a C or SystemVerilog DPI-C
testbench compiles and links against (``cc tb.c -I$(include_dir) $(library_path)``)."""
from __future__ import annotations

import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def library_path() -> str:
    """Absolute path of libaccelsim.so (the C ABI of accelsim.h)."""
    path = os.path.join(_HERE, "libaccelsim.so")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} is missing: reinstall accelsim (pip install .)")
    return path


def include_dir() -> str:
    """Directory holding accelsim.h."""
    path = os.path.join(_HERE, "include")
    if not os.path.exists(os.path.join(path, "accelsim.h")):
        raise FileNotFoundError(f"{path}/accelsim.h is missing: reinstall accelsim (pip install .)")
    return path


def header_text() -> str:
    with open(os.path.join(include_dir(), "accelsim.h")) as f:
        return f.read()
