"""``hipimu identify ROLE``: make one sensor of the kit blink its LED."""

from __future__ import annotations

import argparse
import sys

from hipimu.app.commands._args import int_range
from hipimu.app.commands._ble import ROLE_CHOICES, add_scan_args, role_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "identify",
        help="blink the LED of the kit's sensor with ROLE",
        description="Connect to the sensor of this host's kit that has ROLE and make its "
        "LED blink, to tell which sensor is which before strapping them on.",
    )
    p.add_argument("role", metavar="ROLE", help=ROLE_CHOICES)
    p.add_argument(
        "--seconds",
        type=int_range(0, 255),
        default=5,
        metavar="S",
        help="blink time, 0..255 (default: %(default)s s)",
    )
    add_scan_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.app import config
    from hipimu.app.commands import _ble as cli_support

    role = role_code(args.role)
    cfg = config.load()

    async def main() -> int:
        from hipimu.sources.ble import connect_role
        from hipimu.wire import control

        scanner, client_backend, _world = cli_support.backends(args, cfg.kit)
        try:
            client, link = await connect_role(
                role,
                cfg.kit,
                scan_timeout_s=args.timeout,
                scanner_backend=scanner,
                client_backend=client_backend,
            )
        except LookupError as exc:
            print(f"hipimu identify: {exc}", file=sys.stderr)
            return 1
        try:
            await link.command(control.identify(args.seconds))
        finally:
            await client.disconnect()
        print(f"{args.role} ({link.address}) blinks for {args.seconds} s")
        return 0

    return cli_support.run("identify", args, main)
