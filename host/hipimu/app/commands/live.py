"""``hipimu live``: the trainer's live view over BLE sensors, the simulator or a recording."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from hipimu.app.commands._args import (
    UsageError,
    non_negative,
    output_dir,
    output_file,
    positive,
)
from hipimu.app.commands._ble import BLEAK_MISSING, EXIT_NO_BLUETOOTH, no_bluetooth

LIVE_EXTRA = (
    "the live view needs pyqtgraph and PySide6 (part of the default install): "
    "pip install . (in the hipimu checkout)"
)
SCREENSHOT_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def register(sub: argparse._SubParsersAction) -> None:
    from hipimu.app.commands._force import add_force

    live = sub.add_parser(
        "live",
        help="live view: both hips, targets, repetitions, holds and sensor health",
        description="Live view for trainers (docs/live.md). Without --simulate or --replay "
        "it connects to the BLE sensors.",
    )
    src = live.add_mutually_exclusive_group()
    src.add_argument("--simulate", action="store_true", help="simulated sensors (no hardware)")
    src.add_argument(
        "--simulate-raw",
        action="store_true",
        help="a realistic simulated session (one round): raw gyroscope and accelerometer "
        "fused live, headings aligned on its case phase",
    )
    src.add_argument("--replay", metavar="SESSION", help="replay a recorded session")
    src.add_argument(
        "--simulate-ble",
        action="store_true",
        help="simulated sensors through the BLE code path (fake bleak backend: scan, "
        "connect, time sync, battery); no Bluetooth needed",
    )
    live.add_argument(
        "--speed",
        type=positive,
        default=1.0,
        metavar="X",
        help="pace of --simulate(-raw)/--replay, 1 = real time (default: %(default)s)",
    )
    live.add_argument(
        "--from",
        dest="start",
        type=non_negative,
        default=0.0,
        metavar="S",
        help="with --simulate(-raw)/--replay: start S seconds into the session",
    )
    live.add_argument("--seed", type=int, default=0, help="simulation seed (default: %(default)s)")
    live.add_argument(
        "--symmetric", action="store_true", help="simulate a client without asymmetry"
    )
    live.add_argument(
        "--ideal",
        action="store_true",
        help="with --simulate/--simulate-ble: a noise-free client and sensors (no sway, "
        "neutral stance, no sensor noise or soft-tissue twist) instead of the realistic default",
    )
    live.add_argument(
        "--duration", type=positive, metavar="S", help="close after S seconds (unattended runs)"
    )
    live.add_argument(
        "--screenshot",
        type=output_file(*SCREENSHOT_SUFFIXES),
        metavar="FILE.png",
        help="save the window as an image (.png, .jpg or .bmp) before closing",
    )
    live.add_argument(
        "--plane",
        choices=("primary", "flexion", "abduction", "rotation", "all", "adduction"),
        default="primary",
        metavar="{primary,flexion,abduction,rotation,all}",
        help="hip angle plane to plot; 'primary' follows the exercise (default); "
        "'adduction' is accepted for 'abduction'",
    )
    live.add_argument(
        "--layout",
        choices=("overlay", "mirror"),
        default="overlay",
        help="left and right traces overlaid or mirrored (default: %(default)s)",
    )
    live.add_argument(
        "--window", type=positive, default=10.0, metavar="S", help="seconds of trace (default: 10)"
    )
    live.add_argument(
        "--calibration", metavar="FILE", help="use a saved calibration.json instead of calibrating"
    )
    live.add_argument(
        "--record",
        type=output_dir,
        metavar="DIR",
        help="record from the start into DIR/session.hiplog",
    )
    add_force(live, needs="--record")
    live.add_argument(
        "--lsl",
        metavar="NAME",
        help="also publish angles and quaternions on Lab Streaming Layer as streams "
        "'NAME angles' and 'NAME quaternions' (needs the lsl extra: pip install '.[lsl]')",
    )
    live.add_argument(
        "--no-follow",
        action="store_true",
        help="with --simulate(-raw)/--replay: do not start and end sets from the session's "
        "markers (or, in a replay without markers, from the sets found in its signals)",
    )
    live.set_defaults(func=run)


def _source(args: argparse.Namespace):
    """The source, its display name, whether it may wait for the view (files, sims), and
    what a recording of it says about it (``source``, ``host_clock``, ...)."""
    if args.simulate:
        from hipimu.simulate import Client, Protocol, simulate_session
        from hipimu.sources.simulated import SimulatedSource

        client = Client.symmetric() if args.symmetric else Client()
        sim = simulate_session(Protocol(client), seed=args.seed, ideal=args.ideal)
        source = SimulatedSource(sim, speed=args.speed)
        info = {"source": "simulated", "host_clock": "simulated", "seed": args.seed}
        return _jump(source, sim.notifications, args), f"simulated (seed {args.seed})", True, info
    if args.simulate_raw:
        from hipimu.simulate.realistic import simulate_realistic_session
        from hipimu.sources.simulated import SimulatedSource

        sim = simulate_realistic_session(1, seed=args.seed)
        source = SimulatedSource(sim, speed=args.speed)
        info = {"source": "simulated", "host_clock": "simulated", "seed": args.seed}
        name = f"simulated raw (seed {args.seed})"
        return _jump(source, sim.notifications, args), name, True, info
    if args.replay:
        from hipimu.sources.replay import ReplaySource
        from hipimu.workflow.session import open_session

        path = Path(args.replay)
        if not path.exists():
            raise ValueError(f"no session at {path}")
        session = open_session(path)  # damage is printed once, as a LogDamageWarning
        source = ReplaySource(session.contents, speed=args.speed)
        info = {  # a recording of a replay keeps the recorded session's clock
            "source": str(session.metadata.get("source", "unknown")),
            "host_clock": str(session.metadata.get("host_clock", "monotonic")),
        }
        return _jump(source, source.notifications, args), f"replay of {path}", True, info
    try:
        from hipimu.app import config
        from hipimu.sources.ble import BleSource
    except ImportError as exc:
        raise ValueError(BLEAK_MISSING.format(module=exc.name)) from None
    cfg = config.load()
    if args.simulate_ble:
        from hipimu.sources.ble import fake

        world = fake.simulated_world(
            kit=cfg.kit, seed=args.seed, ideal=args.ideal, symmetric=args.symmetric
        )
        scanner, client = world.backends()
        source = BleSource(
            cfg.kit,
            rate_hz=cfg.rate_hz,
            scanner_backend=scanner,
            client_backend=client,
            scan_timeout_s=1.0,
            seed=args.seed,
        )
        info = {"source": "simulated-ble", "host_clock": "monotonic", "kit": cfg.kit}
        return source, f"simulated BLE kit {cfg.kit}", False, info
    info = {"source": "ble", "host_clock": "monotonic", "kit": cfg.kit}
    return BleSource(cfg.kit, rate_hz=cfg.rate_hz), f"BLE kit {cfg.kit}", False, info


def _jump(source, notifications: list, args: argparse.Namespace):
    """The source itself, or the same notifications starting ``--from`` seconds in."""
    if not args.start:
        return source
    if notifications and args.start >= notifications[-1].host_time - notifications[0].host_time:
        length = notifications[-1].host_time - notifications[0].host_time
        raise UsageError(
            f"--from {args.start:g}: the session is only {length:.1f} s long; "
            f"start between 0 and {length:.1f} s"
        )
    from hipimu.app.live.bridge import JumpAhead

    jump = JumpAhead(notifications, list(source.markers), args.start, args.speed)
    jump.contents = getattr(source, "contents", None)  # a replay's recorded calibration
    return jump


NO_DISPLAY = (
    "no display to show the live view on (neither DISPLAY nor WAYLAND_DISPLAY is set): "
    "run it on the desktop, or unattended with QT_QPA_PLATFORM=offscreen and "
    "--duration S --screenshot FILE.png"
)


def _check_display(qt_widgets) -> None:
    """On Linux without a display Qt aborts the process (core dump) when the window's
    application starts: say so in one line instead, before any source starts."""
    if not sys.platform.startswith("linux") or qt_widgets.QApplication.instance() is not None:
        return
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ValueError(NO_DISPLAY)


def _sensor_status(source) -> Callable[[], dict] | None:
    """Battery and link delay per address, for sources that report them (BLE)."""
    status: Callable[[], list] | None = getattr(source, "status", None)
    if not callable(status):
        return None

    def read() -> dict:
        try:
            return {
                s.address: {"battery": s.battery_percent, "latency_ms": s.latency_ms}
                for s in status()
            }
        except RuntimeError:  # the links changed while reading: next refresh
            return {}

    return read


def _saved_calibration(calibration_class, path: Path):
    """A calibration.json as written by the live view or ``replay --out``; the errors name
    the file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"--calibration {path}: cannot read it ({exc.strerror or exc})") from None
    try:
        return calibration_class.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        what = "not JSON" if isinstance(exc, json.JSONDecodeError) else "not a calibration"
        raise ValueError(f"--calibration {path}: {what} ({exc})") from None


SET_SIDES = ("right", "left", "both")


def _offline(source, markers: list[dict]):
    """The offline analysis of a replayed session, where the view needs it: one without
    set markers (made by ``record`` or ``import``: the sets found in its signals) or an
    imported one (other systems' sensors are not placed as hardware/placement.md says,
    so the live stand-only calibration's heading from the placement would be wrong).
    None when neither, or when the session cannot be calibrated (said on stderr)."""
    contents = getattr(source, "contents", None)
    if contents is None or not contents.notifications:
        return None
    imported = contents.metadata.get("source") == "imported"
    if not imported and any(m.get("side") in SET_SIDES for m in markers):
        return None
    from hipimu.analysis.pipeline import analyse
    from hipimu.body.calibration import CalibrationError

    try:
        return analyse(
            contents.notifications,
            contents.markers,
            events=contents.events,
            placement_prior=not imported,
        )
    except CalibrationError as exc:
        print(f"hipimu live: the session cannot be analysed first: {exc}", file=sys.stderr)
        return None


def _sets_to_follow(offline, markers: list[dict]) -> list[dict]:
    """A replayed session without set markers: the sets found in its signals, as
    ``report`` scores them, so the view starts and ends them and counts their
    repetitions."""
    if offline is None or any(m.get("side") in SET_SIDES for m in markers):
        return markers
    found = [m for m in offline.sets if m.get("source") == "detected"]
    print(
        f"hipimu live: the session has no set markers; following the {len(found)} sets "
        "found in its signals",
        file=sys.stderr,
    )
    return markers + found


def offline_source(source) -> str:
    """The replayed session's ``source`` metadata (``imported``, ``ble``, ...)."""
    contents = getattr(source, "contents", None)
    return str(contents.metadata.get("source", "")) if contents is not None else ""


def _recorded_calibration(source):
    """The last calibration a replayed session log holds (the live view records it)."""
    from hipimu.workflow.session import recorded_calibration

    contents = getattr(source, "contents", None)
    found = recorded_calibration(contents) if contents is not None else None
    return found[0] if found is not None else None


def run(args: argparse.Namespace) -> int:
    recorded_kind = args.simulate or args.simulate_raw or args.replay
    if args.start and not recorded_kind:
        raise UsageError("--from needs --simulate, --simulate-raw or --replay")
    try:
        import pyqtgraph  # noqa: F401
        from pyqtgraph.Qt import QtCore, QtWidgets
    except ImportError:
        raise ValueError(LIVE_EXTRA) from None
    if args.record:
        from hipimu.store.recorder import check_target

        check_target(args.record, args.force)  # before any source starts
    from hipimu.analysis.live.pipeline import LivePipeline
    from hipimu.app.live.bridge import SourceThread
    from hipimu.app.live.view import LiveWindow
    from hipimu.body.calibration import Calibration

    saved = _saved_calibration(Calibration, Path(args.calibration)) if args.calibration else None
    source, name, may_wait, info = _source(args)
    # after the options and files were checked against the data (their messages come
    # first, also without a display), before the replay's offline analysis or any source runs
    _check_display(QtWidgets)
    pipeline = LivePipeline(background_reps=True)
    if saved is not None:
        pipeline.set_calibration(saved)
    elif args.replay and (recorded := _recorded_calibration(source)) is not None:
        pipeline.set_calibration(recorded)
    markers = list(getattr(source, "markers", []))
    offline = _offline(source, markers) if args.replay else None
    imported = offline is not None and offline_source(source) == "imported"
    if imported and pipeline.calibration is None:  # its heading from its movements
        pipeline.set_calibration(offline.calibration)
    contents = getattr(source, "contents", None)
    for event in getattr(contents, "events", []):  # a replay's time-sync round trips
        pipeline.add_event(event)
    session_dir = args.record or args.replay
    if session_dir:  # the trainer's rule: bands from the client's earlier sessions beside it
        from hipimu.scoring.live import LiveTargets

        # a replay's client is known: only that client's earlier sessions set its bands
        client = None if contents is None else str(contents.metadata.get("client") or "")
        pipeline.rule_targets = LiveTargets.from_history(Path(session_dir), client=client)
    publisher = _lsl(args, pipeline, live_clock=not recorded_kind)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    feed = SourceThread(source, overflow="wait" if may_wait else "drop_oldest")
    if not args.no_follow:
        markers = _sets_to_follow(offline, markers)
    window = LiveWindow(
        pipeline,
        feed,
        source_name=name,
        markers=markers,
        follow_markers=not args.no_follow,
        window_s=args.window,
        plane=args.plane,
        layout=args.layout,
        sensor_status=_sensor_status(source),
        session_info=info,
    )
    if args.record:
        window.start_recording(Path(args.record), force=args.force)
        moved = window.recording.moved_aside if window.recording else None
        if moved is not None:
            print(f"the old session in {args.record} was moved to {moved}", file=sys.stderr)
    if recorded_kind and pipeline.calibration is None:
        # a raw session starts in the case (heading alignment), then standing: use its
        # markers; other recorded and simulated sessions start standing
        in_case = any(m.get("exercise") == "heading_alignment" for m in markers)
        if args.start or not (in_case and pipeline.calibrate_from_markers(markers, 4.5)):
            pipeline.calibrate_from_start(stand_s=4.5)
    state = {"code": 0, "finished": False}

    def finish() -> None:
        if state["finished"]:  # once: the timer, the source and Ctrl-C may all ask
            return
        state["finished"] = True
        for timer in timers:
            timer.stop()
        if args.screenshot:
            try:
                path = window.screenshot(args.screenshot)
                print(f"screenshot saved to {path}")
            except OSError as exc:
                print(f"hipimu live: --screenshot {args.screenshot}: {exc}", file=sys.stderr)
                state["code"] = 1
        window.close()
        app.quit()

    def watch_source() -> None:
        if feed.error is not None:
            print(f"hipimu live: source failed: {feed.error}", file=sys.stderr)
            state["code"] = EXIT_NO_BLUETOOTH if no_bluetooth(feed.error) else 1
            finish()
        elif feed.done and args.duration is None and args.screenshot:
            finish()

    # the timers belong to this run: stopped when it ends, so none fires into a later
    # run in the same process (the application object is shared)
    timers = []
    if args.duration is not None:
        closer = QtCore.QTimer(window)
        closer.setSingleShot(True)
        closer.timeout.connect(finish)
        closer.start(int(args.duration * 1000))
        timers.append(closer)
    # Ctrl-C closes the window cleanly (ends the set, closes the recording); the poll
    # timer lets Python run its signal handler while Qt's loop is in charge
    previous_handler = signal.signal(signal.SIGINT, lambda *_: finish())
    poll = QtCore.QTimer(window)
    poll.timeout.connect(watch_source)
    poll.start(200)
    timers.append(poll)
    window.show()
    window.run()
    try:
        app.exec()
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        for timer in timers:
            timer.stop()
    feed.stop()
    if publisher is not None:
        publisher.close()
    return state["code"]


def _lsl(args: argparse.Namespace, pipeline, live_clock: bool):
    """An LSL publisher fed with every final grid row (degrees, OpenSim columns)."""
    if not args.lsl:
        return None
    from hipimu.analysis.live.pipeline import lsl_listener
    from hipimu.export.lsl import LslPublisher

    try:
        publisher = LslPublisher(args.lsl, rate_hz=pipeline.rate_hz or 100.0)
    except RuntimeError as exc:  # pylsl missing
        raise ValueError(str(exc)) from None
    pipeline.listeners.append(lsl_listener(publisher, live_clock))
    return publisher
