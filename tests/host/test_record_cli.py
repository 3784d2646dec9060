"""``hipimu scan | record | identify`` with simulated sensors through the BLE code path,
and without Bluetooth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _paths import import_path

pytest.importorskip("bleak")

from hipimu.app import cli, config
from hipimu.sources.ble import fake
from hipimu.store.log import read_log
from hipimu.stream.assembler import SessionAssembler
from hipimu.wire.protocol import decode

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def host_config(tmp_path, monkeypatch):
    path = tmp_path / "hipimu.toml"
    monkeypatch.setenv(config.ENV_VAR, str(path))
    return path


def test_record_simulated_writes_every_notification_and_the_sync_events(tmp_path, capsys):
    out = tmp_path / "session"
    rc = cli.main(
        ["record", "--out", str(out), "--simulate", "--fast", "--duration", "20", "--quiet"]
    )
    assert rc == 0
    log = read_log(out / "session.hiplog")
    assert log.recovery.clean
    written = int(capsys.readouterr().out.split()[0])
    assert len(log.notifications) == written > 3 * 20 * 100 / 4 * 0.9
    assert log.metadata["source"] == "simulated-ble" and log.metadata["kit"] == 0
    assert log.metadata["simulation"] == "realistic"  # the default (docs/simulator.md)
    assert {s["role"] for s in log.metadata["sensors"].values()} == {"pelvis", "femur_r", "femur_l"}
    assert all(not hasattr(decode(n.payload), "reason") for n in log.notifications)
    kinds = {e["type"] for e in log.events}
    assert {"time_sync", "link"} <= kinds
    asm = SessionAssembler()
    asm.extend(log.notifications)
    for e in log.events:
        asm.add_event(e)
    assert all(tl.sync_points > 10 for tl in asm.timelines().values())


def test_record_refuses_an_existing_session(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / "session.hiplog").write_bytes(b"")
    assert cli.main(["record", "--out", str(out), "--simulate", "--fast", "--duration", "1"]) == 1
    assert "already exists" in capsys.readouterr().err


def test_record_connects_to_no_sensor_of_another_kit(tmp_path, monkeypatch, capsys):
    original = fake.simulated_world
    monkeypatch.setattr(fake, "simulated_world", lambda **kw: original(**{**kw, "kit": 42}))
    rc = cli.main(
        ["record", "--out", str(tmp_path / "s"), "--simulate", "--fast", "--duration", "1"]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "no sensor of kit 0" in err and "other kits seen" in err and "(kit 42)" in err
    assert not (tmp_path / "s" / "session.hiplog").exists()


def test_scan_marks_own_and_foreign_sensors(capsys):
    assert cli.main(["scan", "--simulate", "--fast", "--timeout", "1"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 4
    assert sum("own (0)" in r for r in rows) == 3 and sum("foreign" in r for r in rows) == 1
    assert all("dBm" not in r and "%" in r for r in rows)


def test_identify_blinks_the_sensor(monkeypatch, capsys):
    worlds = []
    original = fake.simulated_world

    def make(**kw):
        worlds.append(original(**kw))
        return worlds[-1]

    monkeypatch.setattr(fake, "simulated_world", make)
    assert cli.main(["identify", "femur_r", "--simulate", "--fast", "--seconds", "3"]) == 0
    assert "femur_r" in capsys.readouterr().out
    (w,) = worlds
    assert w.writes["SIM:00:00:00:00:02"] == [bytes([0x08, 3])]
    assert w.peripherals["SIM:00:00:00:00:02"].app.identify_active
    assert cli.main(["identify", "knee"]) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--timeout", "0.5"],
        ["record", "--out", "{tmp}/s", "--duration", "1"],
        ["identify", "pelvis", "--timeout", "0.5"],
    ],
)
def test_without_bluetooth_each_command_says_so_in_one_line(argv, tmp_path, capsys):
    if Path("/var/run/dbus/system_bus_socket").exists():
        pytest.skip("this machine has a D-Bus system bus; the test needs one without")
    rc = cli.main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 3
    assert len(err.splitlines()) == 1 and "Bluetooth not available" in err
    assert not (tmp_path / "s").exists()


def test_ctrl_c_closes_the_log_with_every_notification(tmp_path, host_config):
    out = tmp_path / "s"
    env = dict(
        os.environ,
        PYTHONPATH=import_path(),
        HIPIMU_CONFIG=str(host_config),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hipimu.app.cli", "record", "--out", str(out), "--simulate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert "recording" in proc.stderr.readline()
        log_path = out / "session.hiplog"
        # wait until data is flowing (the log grows), then interrupt
        while not log_path.exists() or log_path.stat().st_size < 20_000:
            assert proc.poll() is None
            subprocess.run(["sleep", "0.2"], check=True)
        proc.send_signal(signal.SIGINT)
        stdout, _stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    log = read_log(out / "session.hiplog")
    assert log.recovery.clean
    assert int(stdout.split()[0]) == len(log.notifications)
    assert "link_stats" in log.metadata and "stopped_utc" in log.metadata


def test_host_config_round_trip_and_errors(host_config):
    assert config.load() == config.HostConfig()  # no file: kit 0
    config.save(config.HostConfig(kit=0xDEADBEEF, rate_hz=200))
    assert config.load(host_config) == config.HostConfig(kit=0xDEADBEEF, rate_hz=200)
    host_config.write_text("kit = [")
    with pytest.raises(ValueError, match=str(host_config)):
        config.load()
    host_config.write_text("kit = -1\n")
    with pytest.raises(ValueError, match="kit must be"):
        config.load()
    host_config.write_text("kitt = 1\n")
    with pytest.raises(ValueError, match="unknown settings kitt"):
        config.load()


def test_record_writes_client_placement_notes_and_firmware(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["record", "--out", str(out), "--simulate", "--fast", "--duration", "2", "--quiet"]
    argv += ["--ideal"]  # the noise-free world, said in the metadata
    argv += [
        "--client",
        "c-test01",
        "--placement",
        "L5, thighs",
        "--note",
        "knee pain",
        "--note",
        "b",
    ]
    assert cli.main(argv) == 0
    assert "client id" not in capsys.readouterr().out  # given, not generated
    log = read_log(out / "session.hiplog")
    assert log.metadata["client"] == "c-test01" and log.metadata["simulation"] == "ideal"
    assert log.metadata["placement"] == "L5, thighs"
    assert [n["text"] for n in log.notes] == ["knee pain", "b"]
    addresses = set(log.metadata["sensors"])
    assert len(addresses) == 3
    assert set(log.metadata["firmware"]) == set(log.metadata["imu"]) == addresses
    for address in addresses:
        assert all(x.isdigit() for x in log.metadata["firmware"][address].split("."))
        stats = log.metadata["link_stats"][address]
        assert log.metadata["firmware"][address] == "{}.{}".format(*stats["firmware"])
        assert log.metadata["imu"][address] == stats["imu"]
        assert not log.metadata["imu"][address].startswith("type ")


def test_record_generates_and_prints_a_client_id(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["record", "--out", str(out), "--simulate", "--fast", "--duration", "1", "--quiet"]
    assert cli.main(argv) == 0
    client = read_log(out / "session.hiplog").metadata["client"]
    assert client.startswith("c-") and len(client) == 14
    assert f"client id: {client}" in capsys.readouterr().out
    log = read_log(out / "session.hiplog")
    assert log.metadata["placement"] == "sacrum, lateral mid-thigh" and log.notes == []
