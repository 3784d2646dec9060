"""``hipimu scan``: list hipimu sensors in range, own kit and foreign."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scan",
        help="list hipimu sensors in range (role, RSSI, battery, kit)",
        description="Scan for hipimu sensors and list each with its role, signal strength "
        "(RSSI), battery and kit: own (this host's kit, see `hipimu assign --save-kit`) or "
        "foreign.",
    )
    from hipimu.app.commands._ble import add_scan_args

    add_scan_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.app import config
    from hipimu.app.commands import _ble as cli_support

    cfg = config.load()

    async def main() -> int:
        from hipimu.sources.ble import scan

        scanner, _client, _world = cli_support.backends(args, cfg.kit)
        found = await scan(args.timeout, backend=scanner)
        if not found:
            print(f"no hipimu sensors found in {args.timeout:g} s")
            return 0
        print(f"{'name':<18}{'address':<20}{'role':<11}{'RSSI':>6}{'battery':>9}  kit")
        for f in found:
            a = f.advert
            rssi = f"{a.rssi}" if a.rssi is not None else "-"
            bat = f"{a.battery_percent}%" if a.battery_percent is not None else "-"
            if a.kit is None:
                kit = "unknown"
            elif a.kit == cfg.kit:
                kit = f"own ({a.kit})"
            else:
                kit = f"foreign ({a.kit})"
            name = a.name or "?"
            print(f"{name:<18}{f.device.address:<20}{a.role_name:<11}{rssi:>6}{bat:>9}  {kit}")
        return 0

    return cli_support.run("scan", args, main)
