"""The ``hipimu`` command line: a thin layer over the library (docs/cli.md).

Subcommands live one per module in :mod:`hipimu.app.commands`, discovered at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings

from hipimu import __version__
from hipimu.app import commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hipimu", description="Three wearable IMUs as a hip-movement lab."
    )
    parser.add_argument("--version", action="version", version=f"hipimu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"hipimu.app.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            _report_log_damage(args.command)
            return args.func(args)
    except KeyboardInterrupt:
        print(f"hipimu {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        print(f"hipimu {args.command}: {exc}", file=sys.stderr)
        return 1


def _report_log_damage(command: str) -> None:
    """Every damaged session log a command reads is named on stderr, one line each
    (``hipimu.store.log.LogDamageWarning``; the command goes on with what was intact)."""
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None) -> None:
        if category.__name__ == "LogDamageWarning":
            print(f"hipimu {command}: warning: {message}", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.filterwarnings("always", message=".*damaged session log")
    warnings.showwarning = showwarning


if __name__ == "__main__":
    sys.exit(main())
