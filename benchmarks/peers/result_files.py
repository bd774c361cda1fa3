"""Reading a committed benchmark result back (the ``--tables-from`` of vs_accelforge and vs_scalesim)."""
from __future__ import annotations

import json


def load_result(path: str, valid, what: str) -> dict:
    """The result JSON at ``path``; SystemExit with one line naming the file when it cannot be read or
    ``valid(doc)`` is false (``what`` says what it is not, e.g. "not a run with SCALE-Sim's side")."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: cannot read a result JSON ({e})")
    if not isinstance(doc, dict) or not valid(doc):
        raise SystemExit(f"{path}: {what}; no tables to print")
    return doc
