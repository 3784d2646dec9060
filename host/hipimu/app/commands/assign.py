"""``hipimu assign ROLE --kit K``: give one sensor its role and kit (SET_ROLE, SET_KIT, SAVE).

Pairs (bonds) first where the platform can (docs/ble.md "Kits and bonding"). Without
``--address`` the one unassigned sensor in range is used.
"""

from __future__ import annotations

import argparse
import sys

from hipimu.app.commands._ble import ROLE_CHOICES, UNASSIGNED, add_scan_args, role_code


def _kit(text: str) -> int:
    """A u32 kit id, decimal or ``0x`` hex."""
    try:
        kit = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= kit <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"must be 0..4294967295, got {kit}")
    return kit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "assign",
        help="set one sensor's role and kit (pairs first; SET_ROLE, SET_KIT, SAVE)",
        description="Pair with one sensor where the platform can, write its role and kit "
        "(SET_ROLE, SET_KIT), SAVE them on the sensor and read its status back. Without "
        "--address, the one unassigned sensor in range is used.",
    )
    p.add_argument("role", metavar="ROLE", help=ROLE_CHOICES)
    p.add_argument(
        "--kit",
        type=_kit,
        metavar="K",
        help="kit id to store on the sensor, decimal or 0x hex (default: the host's kit)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="the sensor to assign (see `hipimu scan`; default: the one unassigned sensor)",
    )
    p.add_argument(
        "--save-kit",
        action="store_true",
        help="also make K the host's kit (writes the host config)",
    )
    add_scan_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.app import config
    from hipimu.app.commands import _ble as cli_support

    role = role_code(args.role)
    cfg = config.load()
    kit = cfg.kit if args.kit is None else args.kit

    async def main() -> int:
        return await assign_one(args, cfg, role, kit)

    rc = cli_support.run("assign", args, main)
    if rc == 0 and args.save_kit:
        cfg.kit = kit
        path = config.save(cfg)
        print(f"host kit set to {kit} in {path}")
    return rc


def _fail(text: str) -> int:
    print(f"hipimu assign: {text}", file=sys.stderr)
    return 1


async def assign_one(args: argparse.Namespace, cfg, role: int, kit: int) -> int:
    """Find the sensor, write its identity, read its status back; the exit code."""
    from bleak.exc import BleakError

    from hipimu.app.commands import _ble as cli_support
    from hipimu.sources.ble import CommandError, assign, connect_found, scan
    from hipimu.sources.ble.errors import unavailable_reason
    from hipimu.wire import control
    from hipimu.wire.protocol import STATUS_UUID, role_name

    scanner, client_backend, _world = cli_support.backends(args, cfg.kit)
    found = await scan(args.timeout, backend=scanner)
    if args.address is not None:
        target = [f for f in found if f.device.address.lower() == args.address.lower()]
        if not target:
            seen = ", ".join(f.device.address for f in found) or "none"
            return _fail(
                f"sensor {args.address} not found in {args.timeout:g} s (sensors seen: {seen})"
            )
    else:
        target = [f for f in found if f.advert.role == UNASSIGNED]
        if len(target) != 1:
            what = "no unassigned sensor" if not target else "several unassigned sensors"
            seen = ", ".join(f"{f.device.address} ({f.advert.role_name})" for f in found)
            return _fail(
                f"{what} found in {args.timeout:g} s; pick one with --address "
                f"(sensors seen: {seen or 'none'})"
            )
    sensor = target[0]
    address = sensor.device.address
    clash = [
        f.device.address
        for f in found
        if f is not sensor and f.advert.role == role and f.advert.kit == kit
    ]
    if clash:
        print(
            f"hipimu assign: warning: {', '.join(clash)} already is {role_name(role)} of kit "
            f"{kit}; re-assign it, or record will use the stronger one",
            file=sys.stderr,
        )
    try:
        client, link = await connect_found(sensor, cfg.kit, client_backend=client_backend)
    except (BleakError, TimeoutError) as exc:
        if unavailable_reason(exc):
            raise
        return _fail(f"{address}: could not connect ({exc or type(exc).__name__})")
    try:
        try:
            await assign(link, role=role, kit=kit)
        except BleakError as exc:
            if unavailable_reason(exc):
                raise
            return _fail(f"{address}: link lost while writing ({exc})")
        except CommandError as exc:
            if exc.status == 3:
                return _fail(
                    f"{address} refused the change: it has a role, so it needs a bonded link "
                    "and pairing failed or is not supported here; pair it "
                    f"(`bluetoothctl pair {address}`) and retry, or reset the sensor to "
                    "unassigned (docs/firmware.md)"
                )
            return _fail(f"{address}: {exc}")
        status = control.parse_status(await client.read_gatt_char(STATUS_UUID))
    finally:
        await client.disconnect()
    if status.role != role or status.kit != kit:
        return _fail(
            f"{address} reports role {role_name(status.role)}, kit {status.kit} after the "
            f"writes (wanted {role_name(role)}, kit {kit})"
        )
    print(f"{address} is now {role_name(role)} of kit {kit} (saved)")
    return 0
