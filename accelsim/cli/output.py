"""Writing CLI outputs safely: a failed write never leaves a partial file behind."""
from __future__ import annotations

import json
import os
import tempfile


def write_json_atomic(path: str, obj) -> None:
    """Write obj as JSON to path via a temporary file in the same directory and an atomic rename.
    Raises ValueError naming the path if it cannot be written."""
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write {path}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".accelsim-", suffix=".json", dir=directory)
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
