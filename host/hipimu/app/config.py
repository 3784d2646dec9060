"""The host's configuration: which kit of sensors this computer works with.

A small TOML file, ``$HIPIMU_CONFIG`` if set, else ``$XDG_CONFIG_HOME/hipimu/config.toml``
(``~/.config/hipimu/config.toml``)::

    kit = 305419896   # u32 kit id, stored on every sensor of the kit (SET_KIT)
    rate_hz = 100

A missing file means kit 0, the kit of fresh sensors. A file that cannot be parsed is
an error naming the file and the problem (never silently replaced).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

ENV_VAR = "HIPIMU_CONFIG"


def config_path() -> Path:
    """Where the host configuration lives (``$HIPIMU_CONFIG`` overrides)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hipimu" / "config.toml"


@dataclass
class HostConfig:
    """Settings of this host. ``kit``: u32 id of the sensors it may connect to."""

    kit: int = 0
    rate_hz: int = 100

    def validate(self, where: str = "config") -> None:
        if not isinstance(self.kit, int) or not 0 <= self.kit <= 0xFFFFFFFF:
            raise ValueError(f"{where}: kit must be an integer 0..4294967295, got {self.kit!r}")
        if self.rate_hz not in (25, 50, 100, 200, 400):
            raise ValueError(f"{where}: rate_hz must be 25, 50, 100, 200 or 400")


def load(path: Path | None = None) -> HostConfig:
    """Read the configuration (defaults when the file does not exist)."""
    path = path or config_path()
    if not path.exists():
        return HostConfig()
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    unknown = set(data) - set(asdict(HostConfig()))
    if unknown:
        raise ValueError(f"{path}: unknown settings {', '.join(sorted(unknown))}")
    cfg = HostConfig(**data)
    cfg.validate(str(path))
    return cfg


def save(cfg: HostConfig, path: Path | None = None) -> Path:
    """Write the configuration atomically; returns the path."""
    cfg.validate()
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{k} = {v}\n" for k, v in asdict(cfg).items()))
    tmp.replace(path)
    return path
