"""The one error type of ``accelsim.vectors``: a one-line, user-facing message naming the file or field."""
from __future__ import annotations


class VectorsError(ValueError):
    """Bad input (a file, a manifest field, an option) or a refused export; the CLI prints it as one
    line and exits with status 2."""
