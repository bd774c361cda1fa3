"""Regenerate tests/data/energy_pins.json (simulator regression numbers); review the diff before committing.
usage: python tools/regen_pins.py"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from test_energy import PINS, _pin_values  # noqa: E402

values = _pin_values()
PINS.write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")
print(json.dumps(values, indent=1, sort_keys=True))
