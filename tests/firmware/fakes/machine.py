"""Fake ``machine`` for the firmware tests (MicroPython VM and CPython).

Buses route to device models (``sensors.py``) registered per bus/address; pins can be
driven by a model (``Pin.sources``) or observed by one (``Pin.listeners``). Nothing here
allocates on the per-transfer path, so the firmware's allocation test measures only
the firmware.
"""

sources = {}  # pin id -> callable() returning the level a device drives
listeners = {}  # pin id -> callable(level) told when the firmware drives the pin
spi_devices = {}  # spi id -> model with select(level), transfer(wbuf, rbuf, fill)
i2c_devices = {}  # 7-bit address -> model with read(reg, buf), write(reg, buf)
irqs = {}  # pin id -> (handler, trigger, pin) registered with Pin.irq
adc_uv = {}  # pin id -> microvolts
wdt_feeds = [0]
resets = [0]


class Pin:
    IRQ_RISING = 1
    IRQ_FALLING = 2
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.level = 1 if pull == Pin.PULL_UP else 0
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            src = sources.get(self.id)
            return src() if src is not None else self.level
        self.level = 1 if v else 0
        cb = listeners.get(self.id)
        if cb is not None:
            cb(self.level)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def irq(self, handler=None, trigger=3, hard=False):
        """Register ``handler(pin)`` for edges a device model reports (``edge``)."""
        if handler is None:
            irqs.pop(self.id, None)
        else:
            irqs[self.id] = (handler, trigger, self)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


class SPI:
    def __init__(
        self,
        id,
        baudrate=1_000_000,
        polarity=0,
        phase=0,
        bits=8,
        firstbit=0,
        sck=None,
        mosi=None,
        miso=None,
    ):
        self.id = id
        self.baudrate = baudrate
        self.polarity = polarity
        self.phase = phase

    def _dev(self):
        d = spi_devices.get(self.id)
        if d is None:
            raise OSError(5)
        return d

    def readinto(self, buf, write=0):
        self._dev().transfer(None, buf, write)

    def write_readinto(self, wbuf, rbuf):
        self._dev().transfer(wbuf, rbuf, 0)

    def write(self, buf):
        self._dev().transfer(buf, None, 0)

    def read(self, n, write=0):
        b = bytearray(n)
        self.readinto(b, write)
        return bytes(b)


class I2C:
    def __init__(self, id, scl=None, sda=None, freq=400_000):
        self.id = id
        self.freq = freq

    def _dev(self, addr):
        d = i2c_devices.get(addr)
        if d is None:
            raise OSError(19)  # ENODEV, like a NACK on the ESP32
        return d

    def readfrom_mem_into(self, addr, reg, buf, addrsize=8):
        self._dev(addr).read(reg, buf)

    def readfrom_mem(self, addr, reg, n, addrsize=8):
        b = bytearray(n)
        self._dev(addr).read(reg, b)
        return bytes(b)

    def writeto_mem(self, addr, reg, buf, addrsize=8):
        self._dev(addr).write(reg, buf)

    def scan(self):
        return sorted(i2c_devices)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin.id if isinstance(pin, Pin) else pin

    def read_uv(self):
        return adc_uv.get(self.pin, 0)

    def read_u16(self):
        return min(65535, adc_uv.get(self.pin, 0) * 65535 // 3_300_000)


class WDT:
    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout

    def feed(self):
        wdt_feeds[0] += 1


def edge(pin_id, falling):
    """A device model drove ``pin_id`` through an edge: run the registered handler."""
    entry = irqs.get(pin_id)
    if entry is not None and entry[1] & (Pin.IRQ_FALLING if falling else Pin.IRQ_RISING):
        entry[0](entry[2])


def unique_id():
    return b"\x24\x6f\x28\x01\x02\x03"


def reset():
    resets[0] += 1


def freq(hz=None):
    return 240_000_000


def reset_fakes():
    sources.clear()
    listeners.clear()
    spi_devices.clear()
    irqs.clear()
    i2c_devices.clear()
    adc_uv.clear()
