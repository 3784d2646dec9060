"""Fake ``bluetooth`` (enough for hal.ble and aioble's fake)."""

FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020

config_calls = []


class UUID:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, UUID) and other.value == self.value

    def __hash__(self):
        return hash(self.value)

    def __str__(self):
        return f"UUID({self.value!r})"


class BLE:
    _active = False
    _config: dict = {}  # noqa: RUF012 - shared by every BLE() like the one radio

    def active(self, on=None):
        if on is not None:
            BLE._active = bool(on)
        return BLE._active

    def config(self, *args, **kwargs):
        if args:
            return BLE._config.get(args[0])
        config_calls.append(kwargs)
        BLE._config.update(kwargs)
        return None

    def irq(self, handler):
        pass
