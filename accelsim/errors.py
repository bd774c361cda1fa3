"""The one exception hierarchy of accelsim.

Every error the library raises on bad input is an :class:`AccelsimError`; the CLI turns it into one
line, ``accelsim CMD: error: ...``, and exit status 2. The messages name the field, file or graph
node at fault; new code does not name CLI flags (``accelsim.cli.options.naming`` adds the option),
though some older modules (vectors, sweep parsers) still do.

``AccelsimError`` derives from ``ValueError`` so code written against the earlier bare ValueErrors
keeps working.
"""
from __future__ import annotations


class AccelsimError(ValueError):
    """Base class: bad input to accelsim (a value, a file, a model)."""


class ConfigError(AccelsimError):
    """A configuration (architecture YAML, sweep space, option value) is invalid."""


class FormatError(AccelsimError):
    """An unknown or unsupported numeric format, or a format a layer cannot run in."""


class ModelError(AccelsimError):
    """A model reference cannot be loaded, traced or imported: names the file and node."""


class InfeasibleError(AccelsimError):
    """A workload cannot be mapped onto an architecture (does not fit, unsupported combination)."""


__all__ = ["AccelsimError", "ConfigError", "FormatError", "InfeasibleError", "ModelError"]
