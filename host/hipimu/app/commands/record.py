"""``hipimu record``: stream the kit's sensors into a session log until Ctrl-C or a duration.

Every notification is written as received (docs/session-format.md), together with the
link events (connected, disconnected, gaps) and the time-sync round trips the session
uses to put all sensors on the host clock. Ctrl-C stops the sensors, writes what is
still queued and closes the log; a second Ctrl-C stops at once (the log is still closed).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hipimu.app.commands._args import non_empty, output_dir, positive
from hipimu.core.names import DEFAULT_PLACEMENT

if TYPE_CHECKING:
    import asyncio

CONNECT_GRACE_S = 30.0  # --duration starts when all sensors streamed, or after this


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record",
        help="stream all sensors of the kit into a session log",
        description="Scan for this host's kit, connect to its sensors and write every "
        "notification, link event and clock round trip into DIR/session.hiplog until Ctrl-C "
        "or --duration. A status line shows each sensor's link once a second.",
    )
    p.add_argument(
        "--out", required=True, type=output_dir, metavar="DIR", help="session directory to create"
    )
    p.add_argument(
        "--duration", type=positive, metavar="S", help="stop after S seconds (default: Ctrl-C)"
    )
    p.add_argument(
        "--rate", type=int, choices=(25, 50, 100, 200, 400), help="sample rate (default: config)"
    )
    p.add_argument(
        "--scan-timeout",
        type=positive,
        default=5.0,
        metavar="S",
        help="scan time (default: %(default)s s)",
    )
    p.add_argument(
        "--client",
        type=non_empty,
        metavar="ID",
        help="pseudonymous client id for the metadata (default: a new random one, printed)",
    )
    p.add_argument(
        "--placement",
        default=DEFAULT_PLACEMENT,
        metavar="TEXT",
        help="where the sensors sit (default: %(default)r)",
    )
    p.add_argument(
        "--note",
        action="append",
        default=[],
        metavar="TEXT",
        help="a free-text note stored in the log (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="no live status line")
    from hipimu.app.commands._ble import add_simulate_args
    from hipimu.app.commands._force import add_force

    add_force(p)
    add_simulate_args(p, fast_needs="--duration")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hipimu.app import config
    from hipimu.app.commands import _ble as cli_support
    from hipimu.app.commands._args import UsageError
    from hipimu.store.recorder import check_target

    if args.fast and not args.simulate:
        raise UsageError("--fast needs --simulate: it runs simulated time, not a real kit's")
    if args.fast and args.duration is None:
        raise UsageError(
            "--fast needs --duration: the simulated client repeats its protocol and simulated "
            "time runs as fast as the machine allows, so without an end the log would grow "
            "by some 20 MB a minute until Ctrl-C"
        )
    cfg = config.load()
    out = Path(args.out)
    check_target(out, args.force)  # before scanning; the session is claimed once sensors are

    async def main() -> int:
        return await record(args, cfg, out)

    return cli_support.run("record", args, main)


async def record(args: argparse.Namespace, cfg, out: Path) -> int:
    """Scan, connect, then stream every notification into a new session at ``out``."""
    from hipimu.app.commands import _ble as cli_support
    from hipimu.sources.ble import BleSource
    from hipimu.store.log import new_client_id

    client = args.client if args.client is not None else new_client_id()
    if not client.strip():
        raise ValueError("--client must not be empty")
    scanner, client_backend, world = cli_support.backends(args, cfg.kit)
    with _StopSignals() as stop:
        early: list[dict] = []
        source = BleSource(
            cfg.kit,
            rate_hz=args.rate or cfg.rate_hz,
            scan_timeout_s=args.scan_timeout,
            scanner_backend=scanner,
            client_backend=client_backend,
            on_event=early.append,
            seed=args.seed if world is not None else None,
        )
        try:
            links = await source.start()  # scan first: no log is created without sensors
        except LookupError as exc:
            print(f"hipimu record: {exc}", file=sys.stderr)
            return 1
        log = _open_session(args, cfg, out, client, "simulated-ble" if world else "ble")
        try:
            for event in early:
                log.event(event)
            source.on_event = log.event
            log.meta({"sensors": _sensors(links)})
            say = _Status(args.quiet)
            say.line(f"recording {', '.join(link.role for link in links)} into {log.path}")
            if args.client is None:
                say.line(f"client id: {client} (new)")
            written = await _stream(args, source, log, links, say, stop)
            stats = _link_stats(source)
            log.close(link_stats=stats, **_identity(links))  # again: sensors connected late
            print(f"{written} notifications from {len(stats)} sensors written to {log.path}")
            if args.client is None:
                print(f"client id: {client} (new; pass --client {client} to reuse it)")
            for s in source.status():
                print(
                    f"  {s.role:<9} {s.samples:8d} samples  loss {s.loss_percent:4.1f}%  "
                    f"{s.duplicates} duplicates  {s.disconnects} disconnects"
                )
            return 0
        finally:
            log.close()


class _StopSignals:
    """Ctrl-C / SIGTERM set :attr:`event` (stop and close the log); a second one cancels
    the recording task at once (the log is still closed)."""

    def __enter__(self) -> asyncio.Event:
        import asyncio  # here, not at the top: every command's --help builds this parser

        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        self.task = asyncio.current_task()
        self.interrupts = 0
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self._on_signal)
            except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
                pass
        return self.event

    def _on_signal(self) -> None:
        self.interrupts += 1
        self.event.set()
        if self.interrupts > 1 and self.task is not None:
            self.task.cancel()

    def __exit__(self, *exc: object) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass


def _open_session(args: argparse.Namespace, cfg, out: Path, client: str, source: str):
    """The new session, through the one recorder (docs/session-format.md)."""
    from hipimu.store.recorder import SessionRecorder, session_metadata

    meta = session_metadata(
        source,
        "record",
        client=client,
        placement=args.placement,
        notes=args.note,
        host_clock="monotonic",
        kit=cfg.kit,
        rate_hz=args.rate or cfg.rate_hz,
        **({"simulation": "ideal" if args.ideal else "realistic"} if args.simulate else {}),
    )
    log = SessionRecorder(out, meta, force=args.force)
    if log.moved_aside is not None:
        print(f"the old session in {out} was moved to {log.moved_aside}", file=sys.stderr)
    return log


async def _stream(args: argparse.Namespace, source, log, links, say, stop: asyncio.Event) -> int:
    import asyncio

    """Write every notification until stopped, the duration is over or the link failed;
    then close the source and write what it still holds. Returns the notifications written."""
    loop = asyncio.get_running_loop()
    written = 0

    async def consume() -> None:
        nonlocal written
        async for note in source.stream():
            log.notification(note)
            written += 1

    consumer = asyncio.create_task(consume())
    begun = loop.time()
    started: float | None = None  # the duration counts once every sensor had its go
    try:
        while not stop.is_set() and not consumer.done():
            now = loop.time()
            if started is None and (
                all(s.connects or s.state in ("reconnecting", "closed") for s in source.status())
                or now - begun > CONNECT_GRACE_S
            ):
                started = now
                log.meta(_identity(links))  # status read at connect: firmware, IMU
            elapsed = now - (started if started is not None else now)
            # a microsecond short counts: on virtual time (--fast) a wait shorter than
            # the loop's clock resolution fires without time passing, for ever
            done = args.duration is not None and elapsed >= args.duration - 1e-6
            if started is not None and done:
                break
            if source.fatal is not None and all(s.state == "closed" for s in source.status()):
                raise source.fatal
            say.status(f"{elapsed:7.1f} s  {source.status_line()}", now)
            wait = (
                1.0
                if args.duration is None or started is None
                else min(1.0, args.duration - elapsed)
            )
            if started is None:
                wait = 0.1
            try:
                await asyncio.wait_for(stop.wait(), max(wait, 0.0))
            except TimeoutError:
                pass
    finally:
        say.status(f"{loop.time() - (started or begun):7.1f} s  stopping ...")
        await source.close()
        if not consumer.done():
            await consumer
        for note in source.pending():  # anything the consumer did not take
            log.notification(note)
            written += 1
        say.end()
    return written


def _sensors(links) -> dict:
    """What the scan saw of each sensor, per address."""
    return {
        link.address: {
            "role": link.role,
            "name": link.found.advert.name,
            "rssi": link.found.advert.rssi,
            "battery_percent": link.found.advert.battery_percent,
        }
        for link in links
    }


def _link_stats(source) -> dict:
    """Packets, samples, loss, duplicates and disconnects per address, at the end."""
    return {
        s.address: {
            "role": s.role,
            "packets": s.packets,
            "samples": s.samples,
            "lost": s.lost,
            "duplicates": s.duplicates,
            "disconnects": s.disconnects,
            "firmware": list(s.firmware) if s.firmware else None,
            "imu": s.imu,
        }
        for s in source.status()
    }


def _identity(links) -> dict:
    """``firmware`` ("major.minor") and ``imu`` (type name) per address, from each
    sensor's status characteristic; sensors whose status was not read yet are left out."""
    known = [link for link in links if link.status is not None]
    return {
        "firmware": {link.address: "{}.{}".format(*link.status.firmware) for link in known},
        "imu": {link.address: link.status.imu_name for link in known},
    }


class _Status:
    """One status line, rewritten in place on a terminal, a new line otherwise; at most
    once a second either way (the recording loop calls it about once a second)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = float("-inf")
        self.width = 0

    def line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr)

    def status(self, text: str, now: float | None = None) -> None:
        """Show ``text``; ``now`` is the event loop's time (virtual with ``--fast``)."""
        if self.quiet:
            return
        now = time.monotonic() if now is None else now
        if self.tty:
            pad = max(0, self.width - len(text))
            sys.stderr.write("\r" + text + " " * pad)
            sys.stderr.flush()
            self.width = len(text)
        elif now - self.last >= 1.0 - 1e-6:
            self.last = now
            print(text, file=sys.stderr)

    def end(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\n")
