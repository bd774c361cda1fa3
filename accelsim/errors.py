"""The one exception hierarchy of accelsim.

Every error the library raises on bad input is an :class:`AccelsimError`; the CLI turns it into one
line, ``accelsim CMD: error: ...``, and exit status 2. The messages name the parameter, field (a YAML
key path such as ``buffers.ifmap.size_kib``), file or graph node at fault, never a CLI flag: the
command line adds its option (``accelsim.cli.options.naming`` puts it in front of the message,
``as_options`` replaces a leading field name such as ``buffer:`` by ``--buffer:``).

A value of the wrong type at a public entry (``simulate(arch=None)``, ``ConvSpec.make(groups=1.9)``)
is the same error as a wrong value of that field, the subclass of its domain, not a ``TypeError``.
``tests/test_errors.py`` keeps bare ``ValueError``/``TypeError`` raises out of the library.

``AccelsimError`` derives from ``ValueError`` so code written against the earlier bare ValueErrors
keeps working (``except ValueError`` still catches every library error).
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
