"""The results store: one SQLite table, one row per design point, keyed by the point's config hash.

Durability: the database runs in WAL mode and every row is written in its own transaction by the
one process that owns the store (workers only compute), so a sweep killed at any instant (SIGKILL
included) keeps every row it committed, and no half-written row exists. Re-running the same sweep
skips the hashes already present. ``synchronous=NORMAL`` makes a commit survive the death of the
process (not of the machine: a power loss may drop the last commits, which a re-run recomputes).

Columns carry units in their names. A store from an accelsim with fewer columns (say, before an
energy component was added) gains the new columns on open, empty in its old rows. Energies are for the whole batch except ``energy_per_image_pj``;
``report_json`` keeps the full ``Report.to_json()`` (every layer) and ``config_json`` the hashed
config, so nothing of the simulation is lost.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3

from accelsim.energy import COMPONENTS
from accelsim.errors import ConfigError
from accelsim.files import write_atomic

SCHEMA_VERSION = 1
POINT_COLUMNS = (("model", "TEXT"), ("arch", "TEXT"), ("fmt", "TEXT"), ("buffer_kib", "REAL"),
                 ("array_rows", "INTEGER"), ("array_cols", "INTEGER"), ("dram", "TEXT"), ("dataflow", "TEXT"),
                 ("lowering", "TEXT"), ("objective", "TEXT"), ("batch", "INTEGER"),
                 ("fusion", "TEXT"))   # NULL: none (rows of a store from before fusion existed, too)
METRIC_COLUMNS = (
    ("energy_per_image_pj", "REAL"), ("energy_total_pj", "REAL"))
METRIC_COLUMNS += tuple((f"energy_{c}_pj", "REAL") for c in COMPONENTS)
METRIC_COLUMNS += (
    ("edp_pj_s", "REAL"), ("dram_bytes", "INTEGER"), ("compulsory_dram_bytes", "INTEGER"),
    ("dram_read_ifmap_bytes", "INTEGER"), ("dram_read_weight_bytes", "INTEGER"),
    ("dram_read_psum_bytes", "INTEGER"), ("dram_write_ofmap_bytes", "INTEGER"),
    ("dram_write_psum_bytes", "INTEGER"), ("dram_activates", "INTEGER"), ("dram_row_hits", "INTEGER"),
    ("sram_read_bits", "REAL"), ("sram_write_bits", "REAL"),
    ("cycles", "INTEGER"), ("compute_cycles", "INTEGER"), ("stall_cycles", "INTEGER"), ("latency_us", "REAL"),
    ("utilization", "REAL"), ("macs_total", "INTEGER"), ("macs_effectual", "INTEGER"), ("weight_bytes", "INTEGER"))
ROW_COLUMNS = (("config_hash", "TEXT PRIMARY KEY"), ("status", "TEXT NOT NULL"), ("error", "TEXT")) \
    + POINT_COLUMNS + METRIC_COLUMNS + (("accelsim_version", "TEXT"), ("elapsed_s", "REAL"),
                                        ("created_unix", "REAL"), ("config_json", "TEXT"), ("report_json", "TEXT"))
COLUMNS = tuple(name for name, _ in ROW_COLUMNS)
# columns that depend on when and how fast a point ran, not on the point
VOLATILE_COLUMNS = ("elapsed_s", "created_unix")
EXPORT_FORMATS = ("csv", "json")


class Store:
    """``with Store(path) as store:`` opens (creating if needed) a sweep store."""

    def __init__(self, path: str, create: bool = True):
        self.path = path
        if not create and not os.path.isfile(path):
            raise ConfigError(f"store: {path} does not exist")
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise ConfigError(f"store: {path}: cannot create it: directory {directory} does not exist")
        try:
            self.conn = sqlite3.connect(path, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"store: {path} is not an accelsim sweep store ({exc})") from None

    def _init_schema(self) -> None:
        with self.conn:
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                self.conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise ConfigError(f"store: {self.path} has store schema {row[0]}, this accelsim writes "
                                  f"{SCHEMA_VERSION}; use a new store file")
            cols = ", ".join(f"{n} {t}" for n, t in ROW_COLUMNS)
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS points ({cols})")
            # a store written before a column existed (e.g. a new energy component) gains it, empty
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(points)")}
            for name, sql_type in ROW_COLUMNS:
                if name not in have:
                    self.conn.execute(f"ALTER TABLE points ADD COLUMN {name} {sql_type}")

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def hashes(self) -> set[str]:
        return {h for (h,) in self.conn.execute("SELECT config_hash FROM points")}

    def put(self, row: dict) -> None:
        """Insert one row in its own transaction (a repeated hash replaces the row: same config,
        same values)."""
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise ConfigError(f"store: {self.path}: unknown columns {sorted(unknown)}; allowed: "
                              f"{', '.join(sorted(COLUMNS))}")
        names = list(row)
        try:
            with self.conn:
                self.conn.execute(f"INSERT OR REPLACE INTO points ({', '.join(names)}) "
                                  f"VALUES ({', '.join('?' * len(names))})", [row[n] for n in names])
        except sqlite3.Error as exc:
            raise ConfigError(f"store: {self.path}: cannot write: {exc}") from None

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    def rows(self, hashes=None) -> list[dict]:
        """Rows as dicts (all rows, or those whose hash is in ``hashes``), in rowid order; every column
        the table has (one this accelsim no longer writes included)."""
        cur = self.conn.execute("SELECT * FROM points ORDER BY rowid")
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r)) for r in cur]
        if hashes is not None:
            wanted = set(hashes)
            out = [r for r in out if r["config_hash"] in wanted]
        return out


def export(db_path: str, fmt: str, out_path: str) -> int:
    """Write every row of the store as CSV (flat columns; config and report JSON left out) or JSON
    (a list of rows, config and report as nested objects). Returns the number of rows."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"fmt must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    with Store(db_path, create=False) as store:
        rows = store.rows()
    if fmt == "csv":
        extra = [c for c in (rows[0] if rows else {}) if c not in COLUMNS]
        flat = [c for c in COLUMNS + tuple(extra) if c not in ("config_json", "report_json")]

        def write(f):
            w = csv.DictWriter(f, fieldnames=flat, extrasaction="ignore", lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    else:
        for r in rows:
            r["config"] = json.loads(r.pop("config_json") or "null")
            r["report"] = json.loads(r.pop("report_json") or "null")

        def write(f):
            json.dump(rows, f, indent=1)
            f.write("\n")
    def write_to(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            write(f)

    write_atomic(out_path, write_to, "out_path")
    return len(rows)
