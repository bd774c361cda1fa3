"""Arithmetic energy per operation and the reader of the sourced CSV tables (``data/``): the lowest
layer of ``accelsim.energy``, shared by the table of an architecture (``tables``) and of its ReRAM
crossbars (``xbar_tables``). Sources: see ``tables``' docstring (Horowitz, ISSCC 2014, 45 nm)."""
from __future__ import annotations

import csv
import math
from functools import lru_cache
from importlib import resources

from accelsim.errors import FormatError

MAC_NODE_NM = 45


def _read_csv(name: str) -> list[dict]:
    text = (resources.files("accelsim.energy") / "data" / name).read_text()
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines))


@lru_cache(maxsize=None)
def mac_points() -> dict:
    return {(r["op"], r["kind"], int(r["bits"])): (float(r["energy_pj"]), r["source"])
            for r in _read_csv("mac_horowitz45.csv")}


def arith_energy_pj(op: str, kind: str, bits: int, node_nm: float = MAC_NODE_NM) -> float:
    """Energy of one ``op`` ("add"/"mult") of ``kind`` ("int"/"fp") at ``bits`` and ``node_nm``."""
    pts = sorted((b, e) for (o, k, b), (e, _) in mac_points().items() if o == op and k == kind)
    if len(pts) < 2:
        raise FormatError(f"no arithmetic energy data for {op} {kind}")
    (b1, e1), (b2, e2) = pts[0], pts[-1]
    alpha = math.log(e2 / e1) / math.log(b2 / b1)
    exact = dict(pts)
    e45 = exact[bits] if bits in exact else e1 * (bits / b1) ** alpha
    return e45 * node_nm / MAC_NODE_NM
