"""``hipimu identify ROLE``: make one sensor of the kit blink its LED."""

from __future__ import annotations

import argparse

from hipimu.app.commands._ble import ROLE_CHOICES, add_scan_args, role_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("identify", help="blink the LED of the kit's sensor with ROLE")
    p.add_argument("role", metavar="ROLE", help=ROLE_CHOICES)
    p.add_argument("--seconds", type=int, default=5, help="blink time (default: %(default)s s)")
    add_scan_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.app import config
    from hipimu.app.commands import _ble as cli_support

    role = role_code(args.role)
    if not 0 <= args.seconds <= 255:
        raise ValueError(f"--seconds must be 0..255, got {args.seconds}")
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
            print(f"hipimu identify: {exc}")
            return 1
        try:
            await link.command(control.identify(args.seconds))
        finally:
            await client.disconnect()
        print(f"{args.role} ({link.address}) blinks for {args.seconds} s")
        return 0

    return cli_support.run("identify", args, main)
