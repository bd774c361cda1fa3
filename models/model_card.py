"""``models/model_card.json``: how each shipped weights file was made and what it measured
(training steps, wall time, seeds, metrics). Written by the training scripts, read by anyone."""
from __future__ import annotations

import json
import os

CARD_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_card.json")


def read() -> dict:
    if not os.path.exists(CARD_PATH):
        return {}
    with open(CARD_PATH) as f:
        return json.load(f)


def update(name: str, entry: dict, path: str = CARD_PATH) -> None:
    """Replace ``name``'s entry (read-modify-write; keys sorted for stable diffs)."""
    card = read() if path == CARD_PATH else (json.load(open(path)) if os.path.exists(path) else {})
    card[name] = entry
    with open(path, "w") as f:
        json.dump(card, f, indent=2, sort_keys=True)
        f.write("\n")
