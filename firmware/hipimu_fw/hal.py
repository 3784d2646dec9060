"""Board support: the only module that touches ``machine`` and ``bluetooth``.

Pin map for a Seeed XIAO ESP32S3 (hardware/wiring.md is the same table):

| signal | XIAO pad | GPIO | goes to |
| --- | --- | --- | --- |
| battery sense | D0/A0 | 1 | mid-point of a 2 x 220 kOhm divider from BAT+ (ADC1) |
| BNO085 NRST | D1 | 2 | BNO085 RST (active low) |
| BNO085 H_INTN | D2 | 3 | BNO085 INT (active low, pull-up); raw-IMU variant: LSM6DSOX INT1 |
| BNO085 CS | D3 | 4 | BNO085 CS (H_CSN) |
| I2C SDA | D4 | 5 | LSM6DSOX / LIS3MDL SDA (raw-IMU variant) |
| I2C SCL | D5 | 6 | LSM6DSOX / LIS3MDL SCL |
| SPI SCK | D8 | 7 | BNO085 SCL/SCK |
| SPI MISO | D9 | 8 | BNO085 SDA/MISO |
| SPI MOSI | D10 | 9 | BNO085 DI/MOSI |
| BNO085 WAKE | D6 | 43 | BNO085 PS0/WAKE (high at reset = SPI; pulsed low to wake) |
| LED | (on board) | 21 | user LED, active low |

BNO085 PS1 is tied to 3V3; PS0/WAKE is driven high through reset (PS0 = PS1 = 1 selects
SPI) and pulled low before a host write so the hub asserts H_INTN. The tests replace ``machine`` and
``bluetooth`` with fakes (tests/firmware/fakes); nothing else in the firmware imports them.
"""

import time

import bluetooth
import machine

PIN_BATTERY = 1
PIN_BNO_RST = 2
PIN_BNO_INT = 3
PIN_BNO_CS = 4
PIN_SDA = 5
PIN_SCL = 6
PIN_SCK = 7
PIN_MISO = 8
PIN_MOSI = 9
PIN_IMU_INT1 = 3  # the raw-IMU variant has no BNO085: its D2 pad takes the LSM6DSOX INT1
PIN_BNO_WAKE = 43
PIN_LED = 21

SPI_ID = 1
SPI_BAUD = 3_000_000  # BNO085 maximum SPI clock
I2C_ID = 0
I2C_FREQ = 400_000
IO_NO_INPUT_OUTPUT = 3  # bluetooth.BLE io capability: no display, no keyboard
BATTERY_DIVIDER = 2  # BAT+ -> 220k -> ADC -> 220k -> GND

ticks_us = time.ticks_us
ticks_ms = time.ticks_ms
ticks_diff = time.ticks_diff
ticks_add = time.ticks_add
sleep_ms = time.sleep_ms
sleep_us = time.sleep_us


def spi():
    """SPI bus of the BNO085: mode 3 (CPOL 1, CPHA 1), MSB first."""
    return machine.SPI(
        SPI_ID,
        baudrate=SPI_BAUD,
        polarity=1,
        phase=1,
        sck=machine.Pin(PIN_SCK),
        mosi=machine.Pin(PIN_MOSI),
        miso=machine.Pin(PIN_MISO),
    )


def i2c():
    return machine.I2C(I2C_ID, scl=machine.Pin(PIN_SCL), sda=machine.Pin(PIN_SDA), freq=I2C_FREQ)


def imu_int1_pin():
    """The LSM6DSOX INT1 line (push-pull, active high: 75 us data-ready pulses)."""
    return machine.Pin(PIN_IMU_INT1, machine.Pin.IN, machine.Pin.PULL_DOWN)


def bno_pins():
    """(cs, intn, rst, wake) pins of the BNO085."""
    cs = machine.Pin(PIN_BNO_CS, machine.Pin.OUT, value=1)
    intn = machine.Pin(PIN_BNO_INT, machine.Pin.IN, machine.Pin.PULL_UP)
    rst = machine.Pin(PIN_BNO_RST, machine.Pin.OUT, value=1)
    wake = machine.Pin(PIN_BNO_WAKE, machine.Pin.OUT, value=1)
    return cs, intn, rst, wake


class Led:
    """The on-board LED (active low)."""

    def __init__(self, pin=PIN_LED, active_low=True):
        self.pin = machine.Pin(pin, machine.Pin.OUT, value=1 if active_low else 0)
        self.active_low = active_low

    def set(self, on):
        self.pin.value((not on) if self.active_low else bool(on))


class Battery:
    """Battery voltage through the divider on an ADC1 pin (ADC2 is unusable with radio on)."""

    def __init__(self, pin=PIN_BATTERY):
        self.adc = machine.ADC(machine.Pin(pin), atten=machine.ADC.ATTN_11DB)

    def millivolts(self):
        """Battery voltage in mV (0 when the ADC reads nothing: no battery or no divider)."""
        return self.adc.read_uv() * BATTERY_DIVIDER // 1000


def watchdog(timeout_ms):
    """Start the hardware watchdog (cannot be stopped once started)."""
    return machine.WDT(timeout=timeout_ms)


def unique_id():
    return machine.unique_id()


def reset():
    machine.reset()


def ble():
    """The BLE radio, configured for bonding (docs/firmware.md: pairing and bonds).

    ``bond``: keys are stored (aioble keeps them in ``ble_secrets.json``); ``le_secure``:
    LE Secure Connections; ``mitm`` off with ``io`` = no input/output ("just works"):
    the sensor has no display or keys.
    """
    radio = bluetooth.BLE()
    radio.active(True)
    try:
        radio.config(bond=True, le_secure=True, mitm=False, io=IO_NO_INPUT_OUTPUT)
    except (ValueError, OSError):
        pass  # a build without pairing support: bonds unavailable, guarded writes refused
    return radio


def set_gap_name(name):
    bluetooth.BLE().config(gap_name=name)


NOMAIN = "/nomain"  # safe boot: while this file exists, main.py does not start the firmware


def safe_boot_requested():
    """Whether ``/nomain`` exists (written over USB: docs/firmware.md "Safe boot").

    Not the BOOT button: GPIO0 is a strapping pin, held at reset it enters the ROM
    download mode instead.
    """
    import os

    try:
        os.stat(NOMAIN)
    except OSError:
        return False
    return True


def power_off(imu=None):
    """Deep sleep until RESET, or until the IMU's motion interrupt (H_INTN) pulls low.

    The BNO085 arms its significant-motion detector first (``imu.arm_motion_wake``);
    without one, only RESET wakes the sensor. Waking is a reset: the firmware boots anew.
    """
    import esp32

    arm = getattr(imu, "arm_motion_wake", None)
    if arm is not None and arm():
        esp32.wake_on_ext0(machine.Pin(PIN_BNO_INT, machine.Pin.IN), esp32.WAKEUP_ALL_LOW)
    bluetooth.BLE().active(False)
    machine.deepsleep()
