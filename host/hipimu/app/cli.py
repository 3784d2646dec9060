"""The ``hipimu`` command line: a thin layer over the library (docs/cli.md).

Subcommands live one per module in :mod:`hipimu.app.commands`, discovered at start-up.
Building the parser imports no numerical or GUI library (numpy, scipy, bleak, Qt): each
command imports what it needs when it runs, so ``hipimu --help`` starts at once.

Exit codes, one rule for every command (docs/cli.md):

* 0 success (also when a reader such as ``| head`` closes the output early);
* 1 bad input or a failed step: a missing or damaged file, a path that cannot be
  written, a missing optional extra; the message names what and where;
* 2 wrong usage or option value, found at parse time (or, when only the data shows it,
  such as ``live --from`` past the end of the recording, before any work);
* 3 Bluetooth unavailable (no adapter, BlueZ or D-Bus not running, no permission);
* 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings

from hipimu import __version__
from hipimu.app import commands

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_BLUETOOTH, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DESCRIPTION = "Three wearable IMUs as a hip-movement lab."
# the rule, as docs/cli.md states it (generated from this table)
EXIT_CODES = (
    (EXIT_OK, "success (also when a reader such as `| head` closes the output early)"),
    (
        EXIT_FAILED,
        "bad input or a failed step: a missing or damaged file, a path that cannot be "
        "written, a missing optional extra, a `batch` session that failed; the message on "
        "stderr names what and where",
    ),
    (
        EXIT_USAGE,
        "wrong usage or option value (`--window -5`, `--scan-timeout -1`, an unknown "
        "option), refused before any work; also an option value only the data shows to be "
        "wrong, such as `live --from` past the end of the recording",
    ),
    (
        EXIT_NO_BLUETOOTH,
        "Bluetooth unavailable: no adapter, adapter off, BlueZ or D-Bus not running, no "
        "permission (only Bluetooth: a file that cannot be written is 1)",
    ),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
)


def command_modules() -> list[str]:
    """The subcommand modules' names, sorted (one per command)."""
    return sorted(
        info.name for info in pkgutil.iter_modules(commands.__path__) if not info.name[0] == "_"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hipimu", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"hipimu {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_modules():
        importlib.import_module(f"hipimu.app.commands.{name}").register(sub)
    return parser


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's parser by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _output_problems(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """One line per output path of the command that cannot be written."""
    from hipimu.app.commands._args import OutputPath

    options = {
        a.dest: "/".join(a.option_strings) or a.dest
        for a in subparsers(parser)[args.command]._actions
    }
    lines = []
    for dest, value in vars(args).items():
        if isinstance(value, OutputPath) and (why := value.problem()) is not None:
            lines.append(f"{options.get(dest, dest)} {value}: {why}")
    return lines


def _make_folders(args: argparse.Namespace) -> None:
    """Create the missing folders of each output file (``report --out a/b/r.html``)."""
    from pathlib import Path

    for value in vars(args).values():
        if getattr(value, "kind", None) == "file":
            Path(value).parent.mkdir(parents=True, exist_ok=True)


def _quiet_stdout() -> None:
    """After a broken pipe: send what Python still flushes at exit to /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests capture it)
        pass


def main(argv: list[str] | None = None) -> int:
    # before numpy loads (the commands import it when they run): hipimu's linear algebra
    # is on small matrices, where OpenBLAS's threads only spin beside the main thread
    # (about a tenth of `hipimu report`'s CPU time on 2 cores; docs/validation.md)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from hipimu.app.commands._args import UsageError
    from hipimu.app.commands._ble import no_bluetooth
    from hipimu.core.extras import MissingExtra

    parser = build_parser()
    args = parser.parse_args(argv)
    say = f"hipimu {args.command}"
    problems = _output_problems(parser, args)
    if problems:
        for line in problems:
            print(f"{say}: {line}", file=sys.stderr)
        return EXIT_FAILED
    try:
        _make_folders(args)
        with warnings.catch_warnings():
            _report_log_damage(args.command)
            return args.func(args)
    except KeyboardInterrupt:
        print(f"{say}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `hipimu report --json | head -1`: the reader had enough
        _quiet_stdout()
        return EXIT_OK
    except UsageError as exc:
        print(f"{say}: {exc}", file=sys.stderr)
        print(f"(see `hipimu {args.command} --help`)", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, OSError, MissingExtra) as exc:
        print(f"{say}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        if no_bluetooth(exc):
            print(f"{say}: {exc}", file=sys.stderr)
            return EXIT_NO_BLUETOOTH
        raise


def _one_line(exc: BaseException) -> str:
    """An error's message; an OSError's with its file name if Python left it out."""
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in str(exc):
        return f"{exc.filename}: {exc}"
    return str(exc) or type(exc).__name__


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
