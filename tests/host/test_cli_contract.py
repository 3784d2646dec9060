"""The command line's contract: what starts fast, what each error path says and exits
with (docs/cli.md "Exit codes"), what the default install covers, and docs/cli.md being
the parsers' own text."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from _paths import import_path

from hipimu.app import cli, cli_docs
from hipimu.sources.ble.errors import unavailable_reason

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scipy", "bleak", "PySide6", "pyqtgraph", "h5py", "dask")
RESEARCH_EXTRAS = ("h5py", "ezc3d", "pylsl", "dask", "distributed", "vqf", "opensim")


def _env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = import_path()
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(extra)
    return env


def run(argv: list[str], capsys) -> tuple[int, str]:
    """``hipimu argv`` in this process: (exit code, stderr); usage errors included."""
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: usage and option values
        code = exc.code
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("contract") / "demo"
    assert cli.main(["demo", "--out", str(out), "--quiet", "--seed", "3"]) == 0
    return out


# -- a fast start -------------------------------------------------------------------------


def test_help_imports_no_numerical_or_gui_library():
    """`hipimu --help` and every `hipimu COMMAND --help` build all parsers; none of them
    may import numpy, scipy, bleak or Qt (the import trace of the real command)."""
    for argv in (["--help"], ["report", "--help"], ["angles", "--help"], ["live", "--help"]):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "hipimu.app.cli", *argv],
            capture_output=True,
            text=True,
            env=_env(),
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {
            line.split("|")[-1].strip().split(".")[0]
            for line in proc.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert imported, "no import trace"
        assert not imported & set(HEAVY), (argv, sorted(imported & set(HEAVY)))
        assert "usage: hipimu" in proc.stdout


def test_every_command_registers_without_importing_its_work():
    code = (
        "import sys; from hipimu.app.cli import build_parser, subparsers; "
        "p = build_parser(); print(len(subparsers(p))); "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{HEAVY!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), check=True
    )
    count, heavy = [*proc.stdout.splitlines(), ""][:2]
    assert int(count) >= 11
    assert heavy == ""


def test_choices_copied_into_the_parsers_match_the_library():
    """angles and export list their choices without importing the library (scipy, numpy);
    the lists must stay the library's."""
    from hipimu.analysis.opensense import AXES
    from hipimu.app.commands import angles, export
    from hipimu.export.formats import FORMATS

    assert tuple(AXES) == angles.AXES
    assert tuple(FORMATS) == export.FORMATS


# -- the default install ------------------------------------------------------------------


def test_default_install_holds_the_main_job_and_extras_stay_optional():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ]", d)[0].lower() for d in project["dependencies"]}
    assert {"numpy", "scipy", "bleak", "pyqtgraph", "pyside6-essentials"} <= names
    assert not names & {"h5py", "ezc3d", "pylsl", "dask", "vqf", "opensim"}
    extras = project["optional-dependencies"]
    assert {"export", "lsl", "batch", "peers"} <= set(extras)


def test_main_job_runs_without_any_research_extra(tmp_path):
    """record --simulate -> report, and live --simulate, with every research extra made
    unimportable (as after a plain `pip install .`)."""
    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(
        "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in RESEARCH_EXTRAS)
    )
    env = _env(PYTHONPATH=import_path(block))
    env["HIPIMU_CONFIG"] = str(tmp_path / "config.toml")
    session = tmp_path / "s"
    steps = [
        ["record", "--simulate", "--fast", "--out", str(session), "--duration", "40", "--quiet"],
        ["report", str(session), "--json"],
        ["live", "--simulate", "--speed", "20", "--duration", "1"],
    ]
    printed = {}
    for argv in steps:
        proc = subprocess.run(
            [sys.executable, "-m", "hipimu.app.cli", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, (argv, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        printed[argv[0]] = proc.stdout
    assert (session / "session.hiplog").stat().st_size > 10_000
    scores = json.loads(printed["report"])
    assert scores["client"] and "exercises" in scores


@pytest.mark.parametrize(
    ("fmt", "module"), [("hdf5", "h5py"), ("c3d", "ezc3d")], ids=["hdf5", "c3d"]
)
def test_a_missing_extra_is_one_line_that_works_from_a_checkout(
    demo, tmp_path, monkeypatch, capsys, fmt, module
):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    code, err = run(["export", str(demo), "-f", fmt, "--out", str(tmp_path / "x")], capsys)
    assert code == 1
    assert err.strip().splitlines() == [
        f"hipimu export: {'HDF5' if fmt == 'hdf5' else 'C3D'} export needs {module}, which "
        "is not installed: pip install '.[export]' (in the hipimu checkout)"
    ]


# -- one exit-code rule -------------------------------------------------------------------

USAGE = [
    (["live", "--window", "-5"], "argument --window: must be positive, got -5"),
    (["live", "--speed", "0"], "argument --speed: must be positive, got 0"),
    (["live", "--duration", "nan"], "argument --duration: must be a finite number"),
    (["live", "--screenshot", "x.txt"], "x.txt: the file name must end in .png, .jpg"),
    (["live", "--from", "-1"], "argument --from: must be 0 or more, got -1"),
    (["record", "--out", "x", "--scan-timeout", "-1"], "argument --scan-timeout: must be"),
    (["record", "--out", "x", "--duration", "0"], "argument --duration: must be positive"),
    (["record", "--out", "x", "--client", " "], "argument --client: must not be empty"),
    (["scan", "--timeout", "0"], "argument --timeout: must be positive, got 0"),
    (["identify", "pelvis", "--seconds", "300"], "argument --seconds: must be 0..255, got 300"),
    (["assign", "pelvis", "--kit", "-1"], "argument --kit: must be 0..4294967295"),
    (["report", "s", "--share", "0", "0.1"], "argument --share: must be a share in (0, 1]"),
    (["report", "s", "--out", "r.txt"], "the file name must end in .html"),
    (["export", "s", "-f", "csv", "--lowpass", "-1"], "argument --lowpass: must be 0 or more"),
    (["export", "s", "-f", "xls"], "invalid choice: 'xls'"),
    (["replay", "s", "--speed", "fast"], "not a number or 'max': 'fast'"),
    (["batch", "d", "--workers", "0"], "argument --workers: must be 1..1024, got 0"),
    (["batch", "d", "--out", "t.xlsx"], "the file name must end in .csv"),
    (["angles", "--orientations", "a", "--calibration", "b", "--out", "c.csv"], ".mot"),
    (["demo", "--seed", "abc"], "invalid int value: 'abc'"),
    (["fly"], "invalid choice: 'fly'"),
]


@pytest.mark.parametrize(("argv", "words"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_and_option_values_exit_2_at_parse_time(argv, words, capsys):
    code, err = run(argv, capsys)
    assert code == 2
    assert words in err
    assert "Traceback" not in err


def test_record_fast_needs_simulate_and_an_end(tmp_path, capsys):
    """Simulated time as fast as the machine allows, with a client that repeats its
    protocol, never ends by itself (it once wrote 231 MB in 10 minutes): exit 2, nothing
    created."""
    out = tmp_path / "s"
    code, err = run(["record", "--simulate", "--fast", "--out", str(out)], capsys)
    assert code == 2 and "--fast needs --duration" in err
    code, err = run(["record", "--fast", "--out", str(out), "--duration", "5"], capsys)
    assert code == 2 and "--fast needs --simulate" in err
    assert not out.exists()


def test_an_option_only_the_data_refutes_is_also_usage(demo, capsys):
    code, err = run(["live", "--replay", str(demo), "--from", "99999"], capsys)
    assert code == 2
    assert re.search(r"--from 99999: the session is only \d+\.\d s long", err)
    code, err = run(["report", str(demo), "--share", "0.3", "0.2"], capsys)
    assert code == 2 and "--share needs LOW < HIGH" in err


def test_paths_that_cannot_be_written_exit_1_before_any_work(tmp_path, demo, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    below = blocker / "sub"
    cases = [
        ["record", "--simulate", "--fast", "--out", str(below), "--duration", "1"],
        ["replay", str(demo), "--out", str(below)],
        ["batch", str(tmp_path), "--out", str(below / "t.csv")],
        ["demo", "--out", str(blocker)],
        ["report", str(demo), "--out", str(below / "r.html")],
        ["export", str(demo), "-f", "csv", "--out", str(below / "a.csv")],
        ["live", "--simulate", "--record", str(blocker)],
        ["live", "--simulate", "--screenshot", str(below / "shot.png")],
        ["angles", "--orientations", "a", "--calibration", "b", "--out", str(below / "x.mot")],
        ["import", "a.sto", "--out", str(below)],
    ]
    for argv in cases:
        code, err = run(argv, capsys)
        assert code == 1, (argv, err)
        assert str(blocker) in err, (argv, err)
        assert "not a directory" in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
    assert blocker.read_text() == "not a folder"


def test_a_file_error_is_not_taken_for_missing_bluetooth(tmp_path, capsys):
    """Only errors about the D-Bus socket or BlueZ mean "no Bluetooth" (exit 3); a
    PermissionError creating the session folder is the path's problem (exit 1)."""
    assert unavailable_reason(PermissionError(1, "Operation not permitted", "/sys/foo")) is None
    assert unavailable_reason(FileNotFoundError(2, "No such file", "/x/y")) is None
    assert "D-Bus" in unavailable_reason(FileNotFoundError(2, "No such file or directory"))
    if sys.platform.startswith("linux") and Path("/sys/kernel").is_dir():
        # sysfs refuses new entries, even to root: the message says the path, exit 1
        code, err = run(["record", "--simulate", "--fast", "--out", "/sys/foo"], capsys)
        assert code == 1, err
        assert "--out /sys/foo: cannot write in /sys" in err


def test_bad_input_exits_1_and_names_the_file(tmp_path, demo, capsys):
    notjson = tmp_path / "notjson.json"
    notjson.write_text('{"a":')
    code, err = run(["live", "--simulate", "--calibration", str(notjson)], capsys)
    assert code == 1 and f"--calibration {notjson}: not JSON" in err
    notcal = tmp_path / "cal.json"
    notcal.write_text('{"a": 1}')
    code, err = run(["live", "--simulate", "--calibration", str(notcal)], capsys)
    assert code == 1 and f"--calibration {notcal}: not a calibration" in err
    code, err = run(["report", str(tmp_path / "none")], capsys)
    assert code == 1 and "no session log" in err
    code, err = run(["replay", str(tmp_path / "none")], capsys)
    assert code == 1 and str(tmp_path / "none") in err
    code, err = run(["live", "--replay", str(tmp_path / "none")], capsys)
    assert code == 1 and str(tmp_path / "none") in err
    code, err = run(["angles", "--orientations", "a.sto", "--calibration", "b.sto",
                     "--out", str(tmp_path / "x.mot")], capsys)  # fmt: skip
    assert code == 1 and "no such file: a.sto" in err


def _sto_without(demo: Path, tmp_path: Path, column: str, nan: bool = False) -> Path:
    """The demo's orientations as an OpenSense .sto, with ``column`` removed or NaN."""
    from hipimu.store.opensim import read_sto_quaternions, write_sto_quaternions

    full = tmp_path / "full.sto"
    assert cli.main(["export", str(demo), "-f", "sto", "--out", str(full)]) == 0
    table = read_sto_quaternions(full)
    quats = dict(table.quat)
    if nan:
        quats[column] = quats[column] * float("nan")
    else:
        del quats[column]
    path = tmp_path / f"{column}-{'nan' if nan else 'gone'}.sto"
    write_sto_quaternions(path, table.time, quats, table.rate_hz)
    return path


@pytest.mark.parametrize("nan", [False, True], ids=["missing", "all-nan"])
def test_angles_refuses_a_thigh_without_data(demo, tmp_path, capsys, nan):
    sto = _sto_without(demo, tmp_path, "femur_l", nan)
    out = tmp_path / "angles.mot"
    capsys.readouterr()
    code, err = run(
        ["angles", "--orientations", str(sto), "--calibration", str(sto), "--out", str(out)],
        capsys,
    )
    assert code == 1
    why = "has no valid quaternion (all NaN or not unit length) in" if nan else "has no"
    assert f"{sto} {why} column femur_l_imu" in err
    assert not out.exists()


def test_report_json_into_a_closed_pipe_is_quiet(demo):
    """`hipimu report --json | head -1`: the reader leaves early; no traceback, exit 0."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with a broken pipe
    proc = subprocess.run(
        [sys.executable, "-m", "hipimu.app.cli", "report", str(demo), "--json", "--no-save"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_report_out_creates_missing_folders(demo, tmp_path, capsys):
    out = tmp_path / "deep" / "er" / "report.html"
    code, _err = run(["report", str(demo), "--out", str(out), "--no-save"], capsys)
    assert code == 0
    assert out.read_text().lstrip().lower().startswith("<!doctype html")


def test_live_screenshot_that_cannot_be_saved_exits_with_a_message(
    demo, tmp_path, capsys, monkeypatch
):
    """The path passes the start-up check but the save fails (a folder now sits where
    the file should go): a clear message, the window closes, exit 1."""
    pytest.importorskip("pyqtgraph")
    shot = tmp_path / "shot.png"
    from hipimu.app.live import view

    real = view.LiveWindow.screenshot

    def blocked(self, path):
        Path(path).mkdir()  # the file's place is taken after the check
        return real(self, path)

    monkeypatch.setattr(view.LiveWindow, "screenshot", blocked)
    code, err = run(
        ["live", "--replay", str(demo), "--speed", "50", "--duration", "0.5",
         "--screenshot", str(shot)],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert f"--screenshot {shot}: could not write" in err


# -- docs generated from the parsers ------------------------------------------------------


def test_docs_cli_md_is_generated_from_the_parsers():
    text = (REPO / "docs" / "cli.md").read_text()
    assert text == cli_docs.render(), (
        "docs/cli.md is stale: PYTHONPATH=host python -m hipimu.app.cli_docs > docs/cli.md"
    )


def test_every_command_has_a_description_and_clean_help():
    parser = cli.build_parser()
    for name, sub in cli.subparsers(parser).items():
        assert sub.description and len(sub.description) > 40, name
        text = sub.format_help()
        assert "%%" not in text and "%(" not in text, name
        for action in sub._actions:
            assert action.help, (name, action.dest)
    for name in cli.subparsers(parser):
        assert f"## {name}\n" in cli_docs.render()
    assert "--simulate-raw" in cli_docs.render()


def test_every_exit_code_is_documented():
    text = cli_docs.render()
    for code, _meaning in cli.EXIT_CODES:
        assert f"| {code} |" in text
    assert {c for c, _ in cli.EXIT_CODES} == {0, 1, 2, 3, 130}


# -- user output --------------------------------------------------------------------------


def test_terminal_output_has_one_plane_vocabulary_and_no_python_reprs(demo, capsys):
    """replay prints what the demo prints (ranges, errors, sensors, calibration)."""
    assert cli.main(["replay", str(demo)]) == 0
    out = capsys.readouterr().out
    assert "side-lying leg lift   abduction" in out
    assert "adduction" not in out
    assert not re.search(r"[{}\[\]]|'\w+':", out), out
    assert re.search(r"flexion peaks right \d+, left \d+", out)


def test_record_status_line_once_a_second_and_clock_offsets_explained(
    tmp_path, monkeypatch, capsys
):
    """On simulated time (--fast), off a terminal: one status line per second of
    recording; a negative link latency reads as the clock mapping's offset."""
    from hipimu.sources.ble.source import LinkStats, latency_text

    monkeypatch.setenv("HIPIMU_CONFIG", str(tmp_path / "config.toml"))
    out = tmp_path / "s"
    assert cli.main(["record", "--simulate", "--fast", "--out", str(out), "--duration", "6"]) == 0
    err = capsys.readouterr().err
    seconds = [float(m) for m in re.findall(r"^\s*(\d+\.\d) s  pelvis", err, re.M)]
    recording = [s for s in seconds if s > 0]
    assert recording == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0], abs=0.15), err
    assert not re.search(r"lat +-\d", err)
    assert latency_text(-17.2) == "clock off  17 ms"
    assert latency_text(9.0) == "lat   9 ms" and latency_text(None) == "lat  -- ms"
    stats = LinkStats("A", "pelvis", -50, 80, state="streaming")
    stats._latency.extend([-0.020, -0.017, -0.015])
    assert "clock off  17 ms" in stats.summary(0.0)


def test_demo_output_is_ignored_by_git():
    """`hipimu demo` writes into ./hipimu-demo by default: .gitignore covers it."""
    default = next(
        a.default for a in cli.subparsers(cli.build_parser())["demo"]._actions if a.dest == "out"
    )
    ignored = (REPO / ".gitignore").read_text().split()
    assert f"/{default}/" in ignored or f"{default}/" in ignored
    # and the old demo that --force moved aside (DIR.old-<time>, docs/session-format.md)
    if not (REPO / ".git").exists():
        return
    moved = f"{default}.old-20261207-091810/session.hiplog"
    proc = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", "-q", moved], capture_output=True
    )
    assert proc.returncode == 0, f"{moved} is not ignored by git"


def test_the_docs_python_examples_run_as_written(demo, tmp_path, monkeypatch):
    """Every ```python block of docs/ runs literally, in a folder holding the quick
    start's hipimu-demo/ and with the sensor arrays the fusion example names."""
    import numpy as np

    (tmp_path / "hipimu-demo").symlink_to(demo)
    monkeypatch.chdir(tmp_path)
    t = np.arange(400) / 100.0
    gyr = np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(t), 0.1 * np.ones_like(t)])
    acc = np.tile([0.0, 0.0, 9.81], (400, 1))
    mag = np.tile([20.0, 0.0, -40.0], (400, 1))
    blocks = [
        (doc.name, block)
        for doc in sorted((REPO / "docs").glob("*.md"))
        for block in re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)
    ]
    assert any("score_session" in b for _, b in blocks)
    for name, block in blocks:
        namespace = {"gyr": gyr, "acc": acc, "mag": mag}
        namespace.update(gyr4=gyr[:4], acc4=acc[:4], mag4=mag[:4])
        exec(compile(block, f"docs/{name}", "exec"), namespace)
        if "score_session" in block:  # the demo's marching scored on both sides
            assert namespace["scores"].get("marching").comparisons
            assert namespace["result"].scores.to_dict() == namespace["scores"].to_dict()


def test_live_without_a_display_says_so_instead_of_aborting():
    """On Linux with no display Qt aborts the process (SIGABRT, a core dump): the
    command says what is missing and how to run unattended, and exits 1."""
    if not sys.platform.startswith("linux"):
        pytest.skip("Qt needs DISPLAY or WAYLAND_DISPLAY on Linux only")
    pytest.importorskip("pyqtgraph")
    env = _env()
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "hipimu.app.cli", "live", "--simulate", "--duration", "1"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert "hipimu live: no display" in proc.stderr and "QT_QPA_PLATFORM=offscreen" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_live_without_bluetooth_exits_3_like_scan_and_record(demo, tmp_path, monkeypatch, capsys):
    """...and the run that ended early leaves no timer behind: the next run in the same
    process (the Qt application is shared) runs its full course."""
    if Path("/var/run/dbus/system_bus_socket").exists():
        pytest.skip("this machine has a D-Bus system bus; the test needs one without")
    pytest.importorskip("pyqtgraph")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setenv("HIPIMU_CONFIG", str(tmp_path / "config.toml"))
    code, err = run(["live", "--duration", "5"], capsys)
    assert code == 3
    assert "Bluetooth not available" in err and "Traceback" not in err
    shot = tmp_path / "after.png"
    argv = ["live", "--replay", str(demo), "--speed", "2", "--duration", "6"]
    code, err = run([*argv, "--screenshot", str(shot)], capsys)
    assert code == 0 and shot.stat().st_size > 20_000, err
