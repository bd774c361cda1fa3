"""Run ZigZag (zigzag-dse) on one workload N times in ONE interpreter and print the wall time of each
run as JSON: the first run is ZigZag cold (its imports done, its caches empty), the later ones warm.
Runs in ZigZag's own venv (benchmarks/peers/setup_venvs.sh), never in accelsim's; benchmarks/vs_zigzag.py
calls it as a subprocess. Energy/latency/mapping details come from the team's run_zigzag.py driver.

usage: python zigzag_repeat.py WORKLOAD.yaml HW_NAME MAPPING_NAME REPEAT
"""
import json
import os
import sys
import tempfile
import time

t_import = time.perf_counter()
import zigzag
from zigzag.api import get_hardware_performance_zigzag

import_s = time.perf_counter() - t_import


def main() -> int:
    wl, hw, mp, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    base = os.path.join(os.path.dirname(zigzag.__file__), "inputs")
    acc = hw if os.path.exists(hw) else os.path.join(base, "hardware", f"{hw}.yaml")
    mapping = mp if os.path.exists(mp) else os.path.join(base, "mapping", f"{mp}.yaml")
    walls, energies = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="zz-") as out:
            t0 = time.perf_counter()
            energy, _latency, _cmes = get_hardware_performance_zigzag(
                workload=wl, accelerator=acc, mapping=mapping, opt="energy", dump_folder=out,
                lpf_limit=6, loma_show_progress_bar=False)
            walls.append(time.perf_counter() - t0)
            energies.append(float(energy))
    print(json.dumps({"import_s": import_s, "walls_s": walls, "energies_pj": energies,
                      "version": getattr(zigzag, "__version__", "unknown")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
