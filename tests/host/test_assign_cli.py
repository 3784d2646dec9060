"""``hipimu assign`` through the fake bleak backend (virtual sensors running the firmware)."""

from __future__ import annotations

import pytest

pytest.importorskip("bleak")

from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason

from hipimu.app import cli, config
from hipimu.sources.ble import fake

FEMUR_L = "SIM:00:00:00:00:03"
FOREIGN = "SIM:00:00:00:00:04"


@pytest.fixture(autouse=True)
def host_config(tmp_path, monkeypatch):
    path = tmp_path / "hipimu.toml"
    monkeypatch.setenv(config.ENV_VAR, str(path))
    return path


class Worlds(list):
    """The simulated worlds the commands built; ``setup(fn)`` edits each new one."""

    def __init__(self) -> None:
        super().__init__()
        self.setups: list = []

    def setup(self, fn) -> None:
        self.setups.append(fn)


@pytest.fixture
def worlds(monkeypatch):
    made = Worlds()
    original = fake.simulated_world

    def make(**kw):
        made.append(original(**kw))
        for fn in made.setups:
            fn(made[-1])
        return made[-1]

    monkeypatch.setattr(fake, "simulated_world", make)
    return made


def run(*argv: str) -> int:
    return cli.main(["assign", *argv, "--simulate", "--fast", "--timeout", "1"])


def test_assigns_an_unassigned_sensor_and_saves_it(worlds, capsys, host_config):
    worlds.setup(lambda w: setattr(w.peripherals[FEMUR_L].cfg, "role", 255))
    assert run("femur_l", "--kit", "0x1234", "--save-kit") == 0
    out = capsys.readouterr().out
    assert f"{FEMUR_L} is now femur_l of kit 4660" in out and str(host_config) in out
    p = worlds[0].peripherals[FEMUR_L]
    assert p.cfg.saved["role"] == 2 and p.cfg.saved["kit"] == 0x1234
    assert config.load().kit == 0x1234


def test_reassigns_a_bonded_sensor_by_address_without_touching_the_host_kit(worlds, capsys):
    assert run("femur_r", "--kit", "7", "--address", FEMUR_L.lower()) == 0
    saved = worlds[0].peripherals[FEMUR_L].cfg.saved
    assert saved["role"] == 1 and saved["kit"] == 7
    assert worlds[0].peripherals[FEMUR_L].link.is_bonded
    assert config.load().kit == 0 and not config.config_path().exists()


def test_bond_refused_says_to_pair_or_reset(worlds, capsys):
    worlds.setup(lambda w: setattr(w.peripherals[FEMUR_L], "can_bond", False))
    assert run("femur_l", "--kit", "9", "--address", FEMUR_L, "--save-kit") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert FEMUR_L in err and "bonded" in err and "reset" in err and "pair" in err
    assert worlds[0].peripherals[FEMUR_L].cfg.saved is None  # nothing written
    assert config.load().kit == 0  # --save-kit only after success


def test_sensor_not_found(worlds, capsys):
    assert run("pelvis", "--address", "AA:BB:CC:DD:EE:FF") == 1
    err = capsys.readouterr().err
    assert "AA:BB:CC:DD:EE:FF not found" in err and FOREIGN in err


def test_without_address_needs_exactly_one_unassigned_sensor(worlds, capsys):
    assert run("pelvis") == 1
    assert "no unassigned sensor" in capsys.readouterr().err
    worlds.setup(lambda w: [setattr(p.cfg, "role", 255) for p in w.peripherals.values()])
    assert run("pelvis") == 1
    assert "several unassigned sensors" in capsys.readouterr().err


def test_warns_when_the_role_is_taken_in_the_kit(worlds, capsys):
    worlds.setup(lambda w: setattr(w.peripherals[FEMUR_L].cfg, "role", 255))
    assert run("pelvis") == 0
    err = capsys.readouterr().err
    assert "warning" in err and "SIM:00:00:00:00:01 already is pelvis of kit 0" in err


@pytest.mark.parametrize("role", ["knee", "unassigned"])
def test_bad_role(role, capsys):
    assert run(role) == 1
    assert "unknown role" in capsys.readouterr().err


def test_bad_kit_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        run("pelvis", "--kit", "-1")
    assert exc.value.code == 2 and "--kit" in capsys.readouterr().err


def test_without_bluetooth_exit_3_in_one_line(worlds, capsys):
    reason = BleakBluetoothNotAvailableReason.NO_BLUETOOTH
    worlds.setup(
        lambda w: setattr(w, "unavailable", BleakBluetoothNotAvailableError("no adapter", reason))
    )
    assert run("pelvis", "--kit", "5", "--save-kit") == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Bluetooth not available" in err
    assert config.load().kit == 0


def test_a_failed_connect_is_one_line(worlds, capsys):
    worlds.setup(lambda w: setattr(w.faults, "connect_fail", 1.0))
    assert run("femur_l", "--kit", "9", "--address", FEMUR_L) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and FEMUR_L in err and "could not connect" in err
    assert worlds[0].peripherals[FEMUR_L].cfg.saved is None
