"""Writing CLI outputs safely: a failed write never leaves a partial file behind."""
from __future__ import annotations

import json
import os
import tempfile

from accelsim.errors import ConfigError
from accelsim.files import destination_problem, write_atomic


PLOT_EXTENSIONS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps", ".ps")


def check_writable(path: str, option: str) -> None:
    """Fail before any work if ``path`` cannot be written: its directory is missing (or is a file),
    ``path`` is a directory, or the directory refuses a new file. ConfigError naming the option and path."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if option == "--plot" and os.path.splitext(path)[1].lower() not in PLOT_EXTENSIONS:
        raise ConfigError(f"--plot {path}: needs an image extension ({', '.join(PLOT_EXTENSIONS)})")
    problem = destination_problem(path)
    if problem:
        raise ConfigError(f"{option} {path}: cannot write: {problem}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".accelsim-check-", dir=directory)
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot write in {directory}: {exc.strerror}") from None
    os.close(fd)
    os.unlink(tmp)


def check_distinct(outputs: dict, inputs: dict | None = None) -> None:
    """Before any work: no output path (option -> path) is the same file as an input (option -> path)
    or as another output; an output that already exists is compared by inode, the others by their
    resolved path. ConfigError naming both options."""
    def key(path: str):
        try:
            st = os.stat(path)
            return ("inode", st.st_dev, st.st_ino)
        except OSError:
            return ("path", os.path.realpath(path))
    seen = {}
    for role, items in (("input", inputs or {}), ("output", outputs)):
        for option, path in items.items():
            if not path:
                continue
            k = key(path)
            if k in seen and (role == "output" or seen[k][0] == "output"):
                other_role, other = seen[k]
                raise ConfigError(f"{option} {path}: is the same file as {other} ({other_role}); "
                                  f"{'it would be overwritten' if other_role == 'input' else 'give distinct outputs'}")
            seen.setdefault(k, (role, option))


def write_json_atomic(path: str, obj) -> None:
    """Write obj as JSON to path atomically (``accelsim.report.files.write_atomic``); ConfigError
    naming the path if it cannot be written."""
    def write_to(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write("\n")

    write_atomic(path, write_to)
