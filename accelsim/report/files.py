"""Writing report files safely: a figure is saved to a temporary file beside its destination and
renamed into place, so a failed or interrupted write never leaves a partial file behind."""
from __future__ import annotations

import os
import tempfile


def default_mode(path: str) -> None:
    """Give a temporary file (mkstemp makes it 0600) the mode a plain ``open`` would: 0666 minus the
    umask, before it is renamed into place as a user's output."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def save_figure(fig, path: str, option: str = "--plot", **savefig_kwargs) -> None:
    """``fig.savefig`` to ``path`` atomically; ValueError naming ``option`` and the path if it cannot be
    written (a missing directory, a file where a directory should be, no permission)."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"{option}: cannot write {path}: directory {directory} does not exist")
    suffix = os.path.splitext(path)[1] or ".png"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".accelsim-", suffix=suffix, dir=directory)
    except OSError as exc:
        raise ValueError(f"{option}: cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        fig.savefig(tmp, **savefig_kwargs)
        default_mode(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, (OSError, ValueError)):
            raise ValueError(f"{option}: cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None
        raise
