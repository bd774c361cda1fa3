"""The one error type of ``accelsim.vectors``: a one-line, user-facing message naming the file or field."""
from __future__ import annotations

from accelsim.errors import AccelsimError


class VectorsError(AccelsimError):
    """Bad input (a file, a manifest field, a parameter) or a refused export; part of the
    ``accelsim.errors`` hierarchy. The CLI prints it as one line, naming the option, and exits with
    status 2."""
