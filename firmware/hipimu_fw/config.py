"""Persistent settings (role, rate, content, kit, batch, idle power-off) as a small JSON file.

A missing file gives the defaults silently (a fresh sensor); a file that cannot be read,
is not JSON, or holds an invalid value gives the defaults for the bad fields and sets
``error`` (reported in the status characteristic, state bit 1). Saving writes a
temporary file and renames it over the old one, so a reset mid-write leaves either the
old or the new file, never half of one.

Pure: runs under MicroPython and CPython (tests use a temporary path).
"""

import json
import os

from hipimu_fw import packet

PATH = "/hipimu.json"

RATES = (25, 50, 100, 200, 400)  # settable rates (Hz); 12.5 Hz exists on the wire only

DEFAULTS = {
    "role": packet.ROLE_UNASSIGNED,
    "rate": 100,
    "content": packet.CONTENT_QUAT,
    "kit": 0,
    "batch": 4,
    "secure": True,  # SET_ROLE / SET_KIT / SAVE need a bonded link once a role is set
    "imu": "auto",  # auto (BNO085, then LSM6DSOX), bno085, lsm6dsox, sim
    "idle_off_s": 600,  # deep sleep after this long without a host (0: never)
}
IDLE_OFF_MAX_S = 86400

IMUS = ("auto", "bno085", "lsm6dsox", "sim")


def valid_role(v):
    return isinstance(v, int) and (0 <= v <= 15 or v == packet.ROLE_UNASSIGNED)


def valid(key, v):
    """Whether ``v`` is an acceptable value for setting ``key``."""
    if isinstance(v, bool) and key != "secure":
        return False
    if key == "role":
        return valid_role(v)
    if key == "rate":
        return v in RATES
    if key == "content":
        return isinstance(v, int) and 1 <= v <= 15
    if key == "kit":
        return isinstance(v, int) and 0 <= v <= 0xFFFFFFFF
    if key == "batch":
        return isinstance(v, int) and 1 <= v <= packet.MAX_SAMPLES
    if key == "secure":
        return isinstance(v, bool)
    if key == "imu":
        return v in IMUS
    if key == "idle_off_s":
        return isinstance(v, int) and 0 <= v <= IDLE_OFF_MAX_S
    return False


class Config:
    """The settings; attribute access (``cfg.role``) and ``save()``."""

    def __init__(self, path=PATH):
        self.path = path
        self.error = False  # the file existed but was corrupt or held invalid values
        self.role = DEFAULTS["role"]
        self.rate = DEFAULTS["rate"]
        self.content = DEFAULTS["content"]
        self.kit = DEFAULTS["kit"]
        self.batch = DEFAULTS["batch"]
        self.secure = DEFAULTS["secure"]
        self.imu = DEFAULTS["imu"]
        self.idle_off_s = DEFAULTS["idle_off_s"]
        self.load()

    def set(self, key, value):
        """Set one validated value; ValueError if invalid."""
        if key not in DEFAULTS or not valid(key, value):
            raise ValueError(key)
        setattr(self, key, value)

    def reset(self):
        for key in DEFAULTS:
            setattr(self, key, DEFAULTS[key])

    def load(self):
        """Read the file; returns True when it existed and was fully valid."""
        self.reset()
        self.error = False
        try:
            f = open(self.path)
        except OSError:
            return False  # no file yet: defaults, not an error
        try:
            try:
                data = json.load(f)
            finally:
                f.close()
        except Exception:  # ValueError from json, OSError, UnicodeError: all "corrupt"
            self.error = True
            return False
        if not isinstance(data, dict):
            self.error = True
            return False
        for key in DEFAULTS:
            if key in data:
                if valid(key, data[key]):
                    setattr(self, key, data[key])
                else:
                    self.error = True
        return not self.error

    def to_dict(self):
        return {key: getattr(self, key) for key in DEFAULTS}

    def save(self):
        """Persist atomically; returns True on success (False on a flash error)."""
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(self.to_dict(), f)
            try:
                os.rename(tmp, self.path)  # littlefs, FAT (MicroPython) and POSIX replace
            except OSError:
                os.remove(self.path)
                os.rename(tmp, self.path)
        except OSError:
            return False
        self.error = False
        return True
