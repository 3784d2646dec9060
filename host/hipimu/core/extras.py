"""Optional dependencies ("extras"): one clear error when one is missing.

The default install (``pip install .``) runs the main job: record, live view, report.
Research extras (``export``, ``lsl``, ``batch``, ``peers``) stay optional; a command that
needs one says which, in the form that works from a checkout of the repository.
"""

from __future__ import annotations

from types import ModuleType


class MissingExtra(RuntimeError):
    """An optional dependency is not installed; the message says how to install it."""

    def __init__(self, what: str, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{what} needs {module}, which is not installed: "
            f"pip install '.[{extra}]' (in the hipimu checkout)"
        )


def require(module: str, what: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` naming ``extra``."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(what, module, extra) from exc
