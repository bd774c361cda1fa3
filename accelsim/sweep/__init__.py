"""Design-space exploration: sweep buffer size, format, array, DRAM, dataflow and lowering; store one
row per point in SQLite (resumable); find knees and the smallest buffer within a tolerance of the
best energy. ``accelsim sweep`` is the command line; docs/sweep.md the user guide."""
from accelsim.sweep.analysis import DEFAULT_TOLERANCE, BufferAnswer, Curve, answers, curves
from accelsim.sweep.knee import first_reaching, knee_index, kneedle_decreasing, smallest_within
from accelsim.sweep.runner import EXECUTORS, RunStats, Task, config_hash, evaluate, make_tasks, run, sweep
from accelsim.sweep.space import (SweepPoint, SweepSpec, format_size, parse_arrays, parse_dataflows, parse_drams,
                                  parse_formats, parse_list, parse_size, parse_size_range, resolve_arch,
                                  split_buffers)
from accelsim.sweep.store import COLUMNS, EXPORT_FORMATS, VOLATILE_COLUMNS, Store, export

__all__ = ["COLUMNS", "DEFAULT_TOLERANCE", "EXECUTORS", "EXPORT_FORMATS", "VOLATILE_COLUMNS", "BufferAnswer",
           "Curve", "RunStats", "Store", "SweepPoint", "SweepSpec", "Task", "answers", "config_hash", "curves",
           "evaluate", "export", "first_reaching", "format_size", "knee_index", "kneedle_decreasing", "make_tasks",
           "parse_arrays", "parse_dataflows", "parse_drams", "parse_formats", "parse_list", "parse_size", "parse_size_range",
           "resolve_arch", "run", "smallest_within", "split_buffers", "sweep"]
