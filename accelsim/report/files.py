"""Figures written safely (``save_figure``), through the one atomic-write mechanism of
``accelsim.files`` (re-exported here: ``write_atomic``, ``destination_problem``, ``default_mode``)."""
from __future__ import annotations

from accelsim.errors import ConfigError
from accelsim.files import default_mode, destination_problem, write_atomic  # noqa: F401 (re-exported)


def save_figure(fig, path: str, option: str | None = None, **savefig_kwargs) -> None:
    """``fig.savefig`` to ``path`` atomically (``write_atomic``); an unknown image extension is a
    ConfigError naming the path (and ``option``, when given)."""
    def write_to(tmp: str) -> None:
        try:
            fig.savefig(tmp, **savefig_kwargs)
        except ValueError as exc:
            raise ConfigError(f"{option + ': ' if option else ''}cannot write {path}: {exc}") from None

    write_atomic(path, write_to, option)
