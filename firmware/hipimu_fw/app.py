"""The sensor application: sampling, streaming, control, status, LED, watchdog.

``App`` holds the logic as plain synchronous methods so that the tests (CPython and the
MicroPython VM) can drive it tick by tick; ``App.run`` wraps them in asyncio tasks on
the device:

- sampler: IMUs with a data-ready interrupt (BNO085 H_INTN, LSM6DSOX INT1: ``attach``)
  wake it through a ``ThreadSafeFlag``; the driver reads what the chip queued and calls
  ``on_sample(t)`` per sample at the sensor's own time. Others (the simulated IMU, a
  LSM6DSOX without INT1) are polled every ``period_us`` on a fixed schedule, ``tick(t)``,
  stamped with the scheduled tick; a tick missed by more than one period is skipped
  (counted in ``missed_ticks``), which ends the current notification (docs/protocol.md).
  Either way the driver packs each sample into a preallocated buffer and the Streamer
  copies it into its ring.
- notifier: ``pump()`` sends whole batches (``next_packet``/``notify``/``commit``); an
  OSError from ``notify`` keeps the samples (``failed``) and the pump backs off.
- status every 5 s (battery ADC, counters), LED pattern every 20 ms, a watchdog fed only
  while the sampler's heartbeat advances, one ``gc.collect()`` right after a tick.

``tick``, ``on_sample`` and ``pump`` allocate nothing on the BNO085 and LSM6DSOX paths
(tests/firmware measures ``gc.mem_free`` over 10,000 samples in the real VM).
"""

import asyncio
import gc

from hipimu_fw import VERSION, clock, config, control, packet, status
from hipimu_fw.compat import sleep_ms as _sleep_ms
from hipimu_fw.compat import ticks_diff as _ticks_diff
from hipimu_fw.compat import ticks_ms as _ticks_ms
from hipimu_fw.stream import Streamer

RING_CAPACITY = 256  # 2.56 s at 100 Hz
STATUS_PERIOD_MS = 5000
WATCHDOG_MS = 8000
IDLE_RATE_HZ = 10  # interrupt-driven IMUs report this slowly while not streaming (power)
IRQ_BACKSTOP_MS = 250  # read the IMU anyway after this long without a sample


class NullLink:
    """Stand-in when there is no radio (tests, bench runs): every notify succeeds."""

    conn = None

    def connected(self):
        return True

    def send(self, pkt):
        pass

    def mtu(self):
        return 247

    def bonded(self):
        return False

    def set_status(self, payload, notify=True):
        pass

    def tasks(self, app):
        return []


class App:
    def __init__(
        self,
        cfg,
        imu,
        clk=None,
        link=None,
        imu_ok=True,
        led=None,
        battery=None,
        ticks_ms=None,
        capacity=RING_CAPACITY,
        power_off=None,
    ):
        self.cfg = cfg
        self.imu = imu
        self.imu_ok = imu_ok
        self.clock = clk if clk is not None else clock.SensorClock()
        self.link = link if link is not None else NullLink()
        self.led = led
        self.battery = battery
        self.ticks_ms = ticks_ms if ticks_ms is not None else _ticks_ms
        self.capacity = capacity
        self.streaming = False
        self.flush = False
        self.identify_until = 0
        self.identify_active = False
        self.bus_errors = 0
        self.missed_ticks = 0
        self.irq_backstops = 0  # sampler wakes without an interrupt (see sampler_irq)
        self.reply_failures = 0
        self.mtu_errors = 0
        self.heartbeat = 0
        self.battery_mv = 0
        self.battery_pct = 255
        self.boot_ms = self.ticks_ms()
        self.idle_since = self.boot_ms
        self.power_off = power_off  # callable: deep sleep until RESET or motion wakes it
        self.status_buf = bytearray(status.STATUS_SIZE)
        self.controller = control.Controller(cfg, self)
        self._mtu = 0
        self.streamer = self._make_streamer(None)
        self._build(self.streamer)

    # -- configuration --------------------------------------------------------------
    def _content(self):
        c = self.cfg.content & self.imu.supported
        return c if c else packet.CONTENT_QUAT

    def _make_streamer(self, old):
        s = Streamer(
            self.cfg.role,
            self._content(),
            self.cfg.rate,
            self.imu.ranges,
            capacity=self.capacity,
            batch=self.cfg.batch,
        )
        if old is not None:
            s.dropped = old.dropped
            s.notify_failures = old.notify_failures
            s.encoder.seq = old.encoder.seq
        return s

    def _build(self, s=None):
        """(Re)create the Streamer and staging buffer for the configured rate/content."""
        if s is None:
            s = self._make_streamer(self.streamer)
        self.streamer = s
        self.sample = bytearray(s.ss)
        self.sample_view = memoryview(self.sample)
        self._imu_rate(self.streaming)
        self._mtu = 0

    def _imu_rate(self, streaming):
        """Configure the IMU: the set rate while streaming; an interrupt-driven IMU drops
        to ``IDLE_RATE_HZ`` otherwise (its samples only keep the heartbeat going)."""
        rate = self.cfg.rate
        if not streaming and getattr(self.imu, "attach", None) is not None:
            rate = IDLE_RATE_HZ
        try:
            self.imu.configure(rate, self.streamer.content)
        except (OSError, ValueError):
            self.bus_errors += 1

    def fit_batch(self):
        """Batch = configured batch, limited by the link's MTU (``MTU - 3`` per notify)."""
        s = self.streamer
        s.set_batch(self.cfg.batch)
        mtu = self.link.mtu()
        self._mtu = mtu
        try:
            s.fit_mtu(mtu)
        except ValueError:
            self.mtu_errors += 1
            return False
        return True

    # -- device interface for control.Controller ------------------------------------
    def start(self):
        # samples still queued (e.g. from before a link drop) are kept: they go out first
        self.fit_batch()
        self._imu_rate(True)
        self.flush = False
        self.streaming = True

    def stop(self):
        self.streaming = False
        self.flush = True  # send what is left, partial batches included
        self._imu_rate(False)

    def tare(self):
        try:
            self.imu.tare()
        except OSError:
            self.bus_errors += 1

    def identify(self, seconds):
        self.identify_until = self.ticks_ms() + seconds * 1000
        self.identify_active = seconds > 0

    def now_u32(self):
        return self.clock.now_u32()

    def bonded(self):
        return self.link.bonded()

    def supports_content(self, mask):
        if mask & ~self.imu.supported:
            return False
        max_rate = getattr(self.imu, "max_rate", None)
        return max_rate is None or self.cfg.rate <= max_rate(mask)

    def supports_rate(self, rate):
        """Whether the IMU reaches ``rate`` (Hz) for the configured content."""
        max_rate = getattr(self.imu, "max_rate", None)
        return max_rate is None or rate <= max_rate(self.cfg.content & self.imu.supported)

    def apply(self, key):
        if key == "rate" or key == "content":
            self._build()
        elif key == "role":
            self.streamer.role = self.cfg.role
            set_name = getattr(self.link, "set_name", None)
            if set_name is not None:  # the GAP name follows the role at once
                set_name(status.device_name(self.cfg.role))
        elif key == "batch":
            self.fit_batch()

    def save(self):
        return self.cfg.save()

    # -- hot path -------------------------------------------------------------------
    def tick(self, t_lo):
        """Sample once at sensor time ``t_lo`` (low 30 bits); no allocation."""
        self.heartbeat += 1
        if not self.streaming or not self.imu_ok:
            return
        flags = self.imu.read(self.sample)
        if flags < 0:
            self.bus_errors += 1
            return
        s = self.streamer
        s.epoch = self.clock.epoch_of(t_lo)
        s.push_sample(t_lo, self.sample_view, flags)

    def pump(self, max_packets=4):
        """Send up to ``max_packets`` notifications; returns how many went out."""
        if not self.link.connected():
            return 0
        s = self.streamer
        force = self.flush
        sent = 0
        while sent < max_packets:
            pkt = s.next_packet(force)
            if pkt is None:
                if force and s.size == 0:
                    self.flush = False
                break
            try:
                self.link.send(pkt)
            except OSError:
                s.failed()
                break
            s.commit()
            sent += 1
        return sent

    # -- status, LED ----------------------------------------------------------------
    def state_bits(self):
        st = 0
        if self.streaming:
            st |= status.STATE_STREAMING
        if self.cfg.error:
            st |= status.STATE_CONFIG_DEFAULTS
        if 0 < self.battery_mv < status.LOW_BATTERY_MV:
            st |= status.STATE_LOW_BATTERY
        if not self.imu_ok:
            st |= status.STATE_IMU_ERROR
        return st

    def read_battery(self):
        if self.battery is not None:
            try:
                self.battery_mv = self.battery.millivolts()
            except OSError:
                self.battery_mv = 0
            self.battery_pct = status.battery_percent(self.battery_mv)
        return self.battery_mv

    def status_payload(self):
        s = self.streamer
        imu_errors = self.bus_errors + getattr(self.imu, "errors", 0)
        return status.pack_status(
            self.status_buf,
            VERSION,
            self.imu.kind if self.imu_ok else 0,
            self.battery_mv,
            self.battery_pct,
            self.state_bits(),
            self.cfg.role,
            self.cfg.kit,
            s.notify_failures,
            s.dropped,
            imu_errors,
        )

    def led_pattern(self, t_ms):
        if self.identify_active and _ticks_diff(self.identify_until, t_ms) <= 0:
            self.identify_active = False
        return status.led_pattern(
            self.identify_active,
            not self.imu_ok,
            self.cfg.error and _ticks_diff(t_ms, self.boot_ms) < 3000,
            0 < self.battery_mv < status.LOW_BATTERY_MV,
            self.link.connected(),
            self.streaming,
        )

    # -- link events ----------------------------------------------------------------
    def on_connect(self):
        self.fit_batch()

    def on_disconnect(self):
        # the host sends START again after reconnecting; samples still queued are kept
        # and sent first (the host's stream core files them by their sensor time)
        self.streaming = False
        self.flush = False
        self.idle_since = self.ticks_ms()
        self._imu_rate(False)

    def idle_expired(self, now):
        """Whether the sensor has waited for a host longer than ``cfg.idle_off_s``."""
        limit = self.cfg.idle_off_s
        if limit <= 0 or self.link.connected():
            self.idle_since = now
            return False
        return _ticks_diff(now, self.idle_since) >= limit * 1000

    # -- asyncio tasks (device) -----------------------------------------------------
    def on_sample(self, t_lo):
        """One sample from an interrupt-driven IMU, stamped at the sensor's own time."""
        self.heartbeat += 1
        if not self.streaming or not self.imu_ok:
            return
        flags = self.imu.pack(self.sample)
        s = self.streamer
        s.epoch = self.clock.epoch_of(t_lo)
        s.push_sample(t_lo, self.sample_view, flags)

    async def sampler(self):
        """Sample on the IMU's data-ready interrupt when it has one, else on a schedule."""
        if self.imu_ok and getattr(self.imu, "attach", None) is not None:
            await self.sampler_irq()
        else:
            await self.sampler_timed()

    async def sampler_irq(self):
        """Woken by the IMU's interrupt (``ThreadSafeFlag``, set in the hard IRQ): the
        samples carry the sensor's time, so the 10 ms FreeRTOS wake grid does not matter.
        A backstop wakes it when no sample came for ``IRQ_BACKSTOP_MS`` (a lost edge, an
        interrupt line not wired): the IMU's queue is read anyway."""
        flag = asyncio.ThreadSafeFlag()
        self.imu.attach(flag, self.clock.ticks_us, self.on_sample)
        await asyncio.gather(self._irq_drain(flag), self._irq_backstop(flag))

    async def _irq_drain(self, flag):
        clk = self.clock
        while True:
            await flag.wait()
            clk.now_lo()  # keeps the epoch (bits 30-31) current
            if self.imu.drain() < 0:
                self.bus_errors += 1

    async def _irq_backstop(self, flag):
        last = -1
        while True:
            await _sleep_ms(IRQ_BACKSTOP_MS)
            if self.heartbeat == last:
                self.irq_backstops += 1
                flag.set()
            last = self.heartbeat

    async def sampler_timed(self):
        """Polling on a fixed schedule (drivers without a data-ready interrupt).

        On the ESP32, asyncio wakes on the FreeRTOS tick (10 ms): above 100 Hz reads come
        in bursts and a driver returning its latest value repeats samples."""
        clk = self.clock
        t_next = clk.now_lo()
        while True:
            period = self.streamer.period_us
            t_next = clock.add_lo(t_next, period)
            d = clock.diff_lo(t_next, clk.now_lo())
            if d > 1000:
                await _sleep_ms(d // 1000)
            elif d < -period:
                k = (-d) // period
                self.missed_ticks += k
                t_next = clock.add_lo(t_next, k * period)
                await _sleep_ms(0)
            else:
                await _sleep_ms(0)
            self.tick(t_next)

    async def notifier(self):
        while True:
            if self.link.connected() and (self.streaming or self.flush):
                if self.link.mtu() != self._mtu:
                    self.fit_batch()
                self.pump()
                await _sleep_ms(5)
            else:
                await _sleep_ms(50)

    async def housekeeping(self, wdt=None):
        last_status = self.ticks_ms() - STATUS_PERIOD_MS
        last_beat = -1
        beat_ms = self.ticks_ms()
        while True:
            now = self.ticks_ms()
            if self.led is not None:
                self.led.set(status.led_on(self.led_pattern(now), now))
            if self.heartbeat != last_beat:
                last_beat = self.heartbeat
                beat_ms = now
            if wdt is not None and _ticks_diff(now, beat_ms) < WATCHDOG_MS // 2:
                wdt.feed()
            if self.power_off is not None and self.idle_expired(now):
                self.power_off()
            if _ticks_diff(now, last_status) >= STATUS_PERIOD_MS:
                last_status = now
                self.read_battery()
                set_battery = getattr(self.link, "set_battery", None)
                if set_battery is not None:
                    set_battery(self.battery_pct)
                try:
                    self.link.set_status(self.status_payload())
                except OSError:
                    pass
                gc.collect()  # predictable, right after the status update
            await _sleep_ms(20)

    async def run(self, wdt=None):
        tasks = [
            asyncio.create_task(self.sampler()),
            asyncio.create_task(self.notifier()),
            asyncio.create_task(self.housekeeping(wdt)),
        ]
        link_tasks = getattr(self.link, "tasks", None)  # links without a radio have none
        for coro in link_tasks(self) if link_tasks is not None else ():
            tasks.append(asyncio.create_task(coro))
        await asyncio.gather(*tasks)


def detect_imu(hal, cfg):
    """The configured or first answering IMU: (driver, ok)."""
    from hipimu_fw.imu.sim import SimImu

    kind = getattr(cfg, "imu", "auto")
    if kind == "sim":
        return SimImu(cfg.rate, packet.CONTENT_QUAT), True
    if kind in ("auto", "bno085"):
        from hipimu_fw.imu.bno085 import BNO085

        cs, intn, rst, wake = hal.bno_pins()
        bno = BNO085(hal.spi(), cs, intn, rst, hal.ticks_ms, hal.ticks_diff, hal.sleep_ms, wake)
        try:
            if bno.begin(cfg.rate, packet.CONTENT_QUAT):
                return bno, True
        except OSError:
            pass
    if kind in ("auto", "lsm6dsox"):
        from hipimu_fw.imu.lsm6dsox import RawImu

        raw = RawImu(hal.i2c(), int1=hal.imu_int1_pin())
        if raw.begin(cfg.rate, packet.CONTENT_QUAT):
            return raw, True
    return SimImu(cfg.rate, packet.CONTENT_QUAT), False


def start_link(hal, cfg):
    """Bonds, then the radio, then the GATT server: the boot order bonds need.

    ``aioble.security.load_secrets`` must run before the stack starts: NimBLE reads the
    stored peers when it starts (their IRKs go into the resolving list), so keys loaded
    later leave a bonded host that uses private addresses unrecognised.
    """
    from aioble import security

    from hipimu_fw.link import Link

    security.load_secrets()
    hal.ble()
    link = Link()
    link.set_name(status.device_name(cfg.role))
    return link


def main():
    """Device entry point (``firmware/main.py``, after its safe-boot check)."""
    from hipimu_fw import hal

    cfg = config.Config()
    imu, ok = detect_imu(hal, cfg)
    link = start_link(hal, cfg)
    app = App(
        cfg,
        imu,
        clock.SensorClock(hal.ticks_us),
        link,
        imu_ok=ok,
        led=hal.Led(),
        battery=hal.Battery(),
        power_off=lambda: hal.power_off(imu),
    )
    app.read_battery()
    wdt = hal.watchdog(WATCHDOG_MS)  # only now: a safe boot never starts it
    asyncio.run(app.run(wdt))
