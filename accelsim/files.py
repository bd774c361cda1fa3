"""Files: writing them safely, and hashing what produced them.

Every file is written to a temporary file beside its destination and renamed into place, so a failed
or interrupted write never leaves a partial file behind. One mechanism (``write_atomic``) for JSON,
PNG figures and images, CSV exports, sweep stores and compare's row cache (``accelsim.report.files``
adds figures on top). ``code_digest``: the one hash of "the code" (compare's row cache keys, the
provenance stored with trained compressed generators)."""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile

from accelsim.errors import ConfigError


def default_mode(path: str) -> None:
    """Give a temporary file (mkstemp makes it 0600) the mode a plain ``open`` would: 0666 minus the
    umask, before it is renamed into place as a user's output."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def destination_problem(path: str) -> str | None:
    """Why a new file cannot be put at ``path`` (it is a directory, a symbolic link, a device or another
    special file, which the atomic rename would replace; its directory is missing or is a file), or None."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.islink(path):
        return "it is a symbolic link (give the real path)"
    if os.path.isdir(path):
        return "it is a directory"
    if os.path.exists(path) and not os.path.isfile(path):
        return "it is not a regular file (a device, a pipe or a socket)"
    if not os.path.isdir(directory):
        return f"directory {directory} {'is not a directory' if os.path.exists(directory) else 'does not exist'}"
    return None


def write_atomic(path: str, write_to, option: str | None = None) -> None:
    """``write_to(tmp_path)`` writes the whole file to a temporary path in ``path``'s directory, which
    is then renamed to ``path``. ConfigError naming ``option`` (when given: the parameter, or the CLI's
    flag) and the path if it cannot be written: a missing directory, a file where a directory should
    be, ``path`` a directory, no permission. Nothing is left behind on any failure."""
    prefix = f"{option}: " if option else ""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    problem = destination_problem(path)
    if problem:
        raise ConfigError(f"{prefix}cannot write {path}: {problem}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".accelsim-", suffix=os.path.splitext(path)[1], dir=directory)
    except OSError as exc:
        raise ConfigError(f"{prefix}cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        write_to(tmp)
        default_mode(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise ConfigError(f"{prefix}cannot write {path}: {exc.strerror or exc}") from None
        raise


CODE_SUFFIXES = (".py", ".so", ".yaml", ".yml", ".csv", ".json", ".h")


def code_digest(weights: bool = False) -> str:
    """sha256 of accelsim's sources, data files and built kernels, the models package (its weights too
    with ``weights``), and the numpy and Python versions: what a computed number can depend on
    besides its arguments. Deterministic: files in sorted order, each by relative path and content."""
    import numpy as np

    import accelsim
    from accelsim.models import registry
    suffixes = CODE_SUFFIXES + ((".npz",) if weights else ())
    h = hashlib.sha256(f"numpy {np.__version__} python {sys.version_info[:3]}".encode())
    for root in (os.path.dirname(accelsim.__file__), os.path.dirname(registry.__file__)):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith(suffixes):
                    path = os.path.join(dirpath, name)
                    h.update(os.path.relpath(path, root).encode() + b"\0")
                    with open(path, "rb") as f:
                        h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()
