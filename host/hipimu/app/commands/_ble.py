"""Shared plumbing of the ``scan``, ``record``, ``identify`` and ``assign`` commands."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

EXIT_NO_BLUETOOTH = 3
UNASSIGNED = 255  # the advertised role of a sensor that has none yet
ROLE_CHOICES = "pelvis, femur_r or femur_l"
BLEAK_MISSING = (
    "the BLE link needs bleak ({module} not importable; part of the default install): "
    "pip install . (in the hipimu checkout)"
)


def no_bluetooth(exc: BaseException | None) -> bool:
    """Whether ``exc`` says Bluetooth is unavailable (without importing bleak)."""
    errors = sys.modules.get("hipimu.sources.ble.errors")
    return errors is not None and isinstance(exc, errors.BluetoothUnavailable)


def role_code(name: str) -> int:
    """The wire code of a sensor role given by name; a clear error for anything else."""
    from hipimu.wire.protocol import ROLES_BY_NAME

    role = ROLES_BY_NAME.get(name)
    if role is None or role == UNASSIGNED:
        raise ValueError(f"unknown role {name!r}: use {ROLE_CHOICES}")
    return role


def add_scan_args(parser) -> None:
    """``--timeout`` for the scan and the ``--simulate`` options."""
    from hipimu.app.commands._args import positive

    parser.add_argument(
        "--timeout",
        type=positive,
        default=5.0,
        metavar="S",
        help="scan time (default: %(default)s s)",
    )
    add_simulate_args(parser)


def add_simulate_args(parser, fast_needs: str = "") -> None:
    """The ``--simulate`` options; ``fast_needs`` names what ``--fast`` also needs."""
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="use simulated sensors through the BLE code path (fake bleak backend serving "
        "the firmware's packets); no Bluetooth needed",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="with --simulate: run simulated time as fast as possible instead of in real time"
        + (f" (needs {fast_needs})" if fast_needs else ""),
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="with --simulate: random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--ideal",
        action="store_true",
        help="with --simulate: a noise-free client and sensors (no sway, neutral stance, no "
        "sensor noise or soft-tissue twist) instead of the realistic default",
    )
    parser.add_argument(
        "--symmetric",
        action="store_true",
        help="with --simulate: a client without asymmetry (the default client's left side "
        "moves 70 %% of the right)",
    )


def backends(args, kit: int) -> tuple[Any, Any, Any]:
    """``(scanner_backend, client_backend, world)``: platform defaults, or the fake."""
    if not getattr(args, "simulate", False):
        return None, None, None
    from hipimu.sources.ble import fake

    world = fake.simulated_world(
        kit=kit,
        seed=args.seed,
        ideal=getattr(args, "ideal", False),
        symmetric=getattr(args, "symmetric", False),
    )
    scanner, client = world.backends()
    return scanner, client, world


def run(command: str, args, main: Callable[[], Awaitable[int]]) -> int:
    """Run ``main()`` on an event loop (virtual time with ``--fast``); Bluetooth being
    unavailable becomes one line on stderr and exit code 3."""
    import asyncio

    try:
        from hipimu.sources.ble.errors import BluetoothUnavailable, unavailable_reason
    except ImportError as exc:  # bleak missing
        print(f"hipimu {command}: {BLEAK_MISSING.format(module=exc.name)}", file=sys.stderr)
        return 1
    try:
        if getattr(args, "simulate", False) and getattr(args, "fast", False):
            from hipimu.sources.ble.vtime import run_virtual

            return run_virtual(main())
        return asyncio.run(main())
    except BluetoothUnavailable as exc:
        print(f"hipimu {command}: {exc}", file=sys.stderr)
        return EXIT_NO_BLUETOOTH
    except Exception as exc:
        reason = unavailable_reason(exc)
        if reason is None:
            raise
        print(f"hipimu {command}: {reason}", file=sys.stderr)
        return EXIT_NO_BLUETOOTH
