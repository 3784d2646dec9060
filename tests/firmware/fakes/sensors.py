"""Register-level device models for the firmware tests (MicroPython VM and CPython).

The models answer bus traffic the way the datasheets describe it (see the driver
modules for the register and report facts); their data come from the vectors below,
derived from the datasheets' scale factors. The transfer paths allocate nothing.

Datasheet-derived vectors (BNO085: SH-2 Q points; LSM6DSOX at +-1000 deg/s and +-4 g:
35 mdeg/s and 0.122 mg per LSB; LIS3MDL at +-4 gauss: 6842 LSB/gauss):
"""

import math
import struct

import machine

# BNO085 input reports (channel 3), as the hub sends them: id, seq, status, delay, data
BNO_VECTORS = {
    # game rotation vector, Q14 (i, j, k, real): 90 deg about z, accuracy 3
    "game_rv_90z": "08000300" + "0000" + "0000" + "412d" + "412d",
    # calibrated gyro Q9 rad/s: z = 1.0 rad/s -> 512
    "gyro_z_1rad": "02000300" + "0000" + "0000" + "0002",
    # accelerometer Q8 m/s^2: z = 9.80665 -> 2510
    "accel_1g_z": "01000300" + "0000" + "0000" + "ce09",
    # calibrated magnetic field Q4 uT: y = 40 uT -> 640, z = -30 uT -> -480
    "mag_y40_zm30": "03000300" + "0000" + "8002" + "20fe",
    # stability classifier: 2 = stationary
    "stability_stationary": "130000000200",
}
BNO_EXPECTED = {
    "game_rv_90z": (11585, 0, 0, 11585),  # wire order w, x, y, z
    "gyro_z_1rad": 939,  # 1 rad/s at 2000 deg/s full scale: 32768 / 34.9066 = 938.7
    "accel_1g_z": 4095,  # 1 g at 8 g full scale: 4096 (Q8 rounding: 2510/256 = 9.8047)
    "mag_y40_zm30": (0, 3277, -2458),  # 40 uT and -30 uT at 400 uT full scale
}

# LSM6DSOX output registers (gyro x, y, z, acc x, y, z counts)
LSM_VECTORS = {
    "rest_flat": (0, 0, 0, 0, 0, 8197),  # 1 g on z: 1000 / 0.122 = 8197
    "gyro_x_100dps": (2857, 0, 0, 0, 0, 8197),  # 100 / 0.035 = 2857
}
LSM_EXPECTED = {
    "rest_flat": ((0, 0, 0), (0, 0, 8192)),  # 8197 * 0.999424 = 8192.3 -> 8192 = 1 g at 4 g
    "gyro_x_100dps": ((1638, 0, 0), (0, 0, 8192)),  # 2857 * 0.57344 = 1638.3 (100 deg/s)
}
MAG_VECTOR = (0, 3421, -2053)  # 0.5 gauss (50 uT) on y, -0.3 gauss on z
MAG_EXPECTED = (0, 4096, -2458)  # 50 uT and -30 uT at 400 uT full scale


def _hex(s):
    return bytes(int(s[i : i + 2], 16) for i in range(0, len(s), 2))


class FakeBNO085:
    """SHTP over SPI: reset/advertise, product id, set feature, tare, periodic reports.

    ``script``: list of report lists (bytes) served in turn, one channel-3 packet per
    transaction while any feature is enabled; by default a 0.5 Hz swing about x.
    """

    def __init__(self, spi_id=1, cs=4, intn=3, rst=2, wake=43, script=None, rate_hz=100):
        self.cs_pin = cs
        self.woken = False
        self.selected = False
        self.out = bytearray(400)
        self.out_len = 0
        self.pos = 0
        self.inc = bytearray(64)
        self.inc_len = 0
        self.queue = []  # control packets waiting (setup only: may allocate)
        self.seq = bytearray(6)
        self.features = {}
        self.commands = []
        self.host_packets = 0
        self.alive = False
        self.fail = False
        self.k = 0
        self.packets = []
        self.intn_pin = intn
        self.timed = None  # HubClock when the hub samples on its own clock (clocked())
        self._load_script(script, rate_hz)
        machine.spi_devices[spi_id] = self
        machine.sources[intn] = self.intn
        machine.listeners[cs] = self.select
        machine.listeners[rst] = self.reset_pin
        machine.listeners[wake] = self.wake_pin

    def _load_script(self, script, rate_hz):
        if script is None:
            script = []
            n = int(rate_hz * 2)
            for k in range(n):
                a = math.radians(20.0) * math.sin(2 * math.pi * k / n)
                qr = round(math.cos(a / 2) * 16384)
                qi = round(math.sin(a / 2) * 16384)
                gx = round(math.radians(20.0) * math.pi * math.cos(2 * math.pi * k / n) * 512)
                rep = [
                    struct.pack("<BBBBhhhh", 0x08, 0, 3, 0, qi, 0, 0, qr),
                    struct.pack("<BBBBhhh", 0x02, 0, 3, 0, gx, 0, 0),
                    struct.pack("<BBBBhhh", 0x01, 0, 3, 0, 0, 0, 2510),
                    struct.pack("<BBBBhhh", 0x03, 0, 3, 0, 0, 640, -480),
                    struct.pack("<BBBBBB", 0x13, 0, 0, 0, 4, 0),
                ]
                script.append(rep)
        # one full channel-3 packet per script step, with every report; the reports of
        # disabled features are skipped when serving (see _next_reports)
        self.steps = []
        for reps in script:
            self.steps.append([bytes(r) for r in reps])
        self._built = {}

    def clocked(self, clock):
        """Sample on the hub's own clock (``HubClock``) and signal each packet on H_INTN,
        with the SH-2 base timestamp and per-report delays (see ``HubClock``)."""
        self.timed = clock
        clock.hub = self

    # -- pins -----------------------------------------------------------------------
    def intn(self):
        if not self.alive:
            return 1
        if self.queue or self.woken:
            return 0
        if self.timed is not None:
            return 0 if self.timed.asserted else 1
        if self._reporting():
            return 0
        return 1

    def wake_pin(self, level):
        if level == 0 and self.alive:
            self.woken = True  # the hub asserts H_INTN until the host selects it

    def _reporting(self):
        for rid in (0x01, 0x02, 0x03, 0x08):
            if self.features.get(rid, 0):
                return True
        return False

    def reset_pin(self, level):
        if level == 0:
            self.alive = False
            self.queue = []
            self.features = {}
        elif not self.alive:
            self.alive = True
            adv = bytearray(60)  # an SHTP advertisement (content irrelevant to the host)
            adv[0] = 0
            self._queue(0, bytes(adv))
            self._queue(1, b"\x01")  # reset complete

    def _queue(self, ch, payload):
        n = 4 + len(payload)
        pkt = bytearray(n)
        struct.pack_into("<HBB", pkt, 0, n, ch, self.seq[ch])
        self.seq[ch] = (self.seq[ch] + 1) & 0xFF
        pkt[4:] = payload
        self.queue.append(pkt)

    def _build_step(self):
        """Channel-3 packet for the current script step (cached per enabled set)."""
        key = self.k
        pkt = self._built.get(key)
        if pkt is None:
            body = bytearray(b"\xfb\x00\x00\x00\x00")  # base timestamp reference
            for rep in self.steps[self.k]:
                rid = rep[0]
                if rid == 0x13 or self.features.get(rid, 0):
                    body += rep
            n = 4 + len(body)
            pkt = bytearray(n)
            struct.pack_into("<HBB", pkt, 0, n, 3, 0)
            pkt[4:] = body
            self._built[key] = pkt
        pkt[3] = self.seq[3]
        self.seq[3] = (self.seq[3] + 1) & 0xFF
        self.k += 1
        if self.k == len(self.steps):
            self.k = 0
        return pkt

    def select(self, level):
        if level == 0:
            self.selected = True
            self.woken = False
            self.pos = 0
            self.inc_len = 0
            if self.queue:
                pkt = self.queue.pop(0)
            elif self.timed is not None:
                pkt = self.timed.packet() if self.timed.asserted else None
            elif self.alive and self._reporting():
                pkt = self._build_step()
            else:
                pkt = None
            if pkt is None:
                self.out_len = 0
            else:
                n = len(pkt)
                for i in range(n):
                    self.out[i] = pkt[i]
                self.out_len = n
        else:
            self.selected = False
            if self.inc_len >= 4:
                n = (self.inc[0] | (self.inc[1] << 8)) & 0x7FFF
                if n >= 4:
                    self._host_packet(n)

    # -- bus ------------------------------------------------------------------------
    def transfer(self, wbuf, rbuf, fill):
        if self.fail:
            raise OSError(5)
        if not self.selected:
            return
        n = len(rbuf) if rbuf is not None else len(wbuf)
        pos = self.pos
        out = self.out
        olen = self.out_len
        if rbuf is not None:
            for i in range(n):
                j = pos + i
                rbuf[i] = out[j] if j < olen else 0
        if wbuf is not None:
            inc = self.inc
            k = self.inc_len
            for i in range(n):
                if k < 64:
                    inc[k] = wbuf[i]
                    k += 1
            self.inc_len = k
        self.pos = pos + n

    def _host_packet(self, n):
        self.host_packets += 1
        ch = self.inc[2]
        body = bytes(self.inc[4:n])
        if ch == 2 and body:
            rid = body[0]
            if rid == 0xF9:  # product id request -> response
                self._queue(2, struct.pack("<BBBBIIHH", 0xF8, 1, 3, 2, 10004135, 171, 7, 0))
            elif rid == 0xFD and len(body) >= 17:  # set feature -> get feature response
                fid = body[1]
                interval = struct.unpack_from("<I", body, 5)[0]
                self.features[fid] = interval
                self._built = {}
                if self.timed is not None:
                    self.timed.configure()
                resp = bytearray(body)
                resp[0] = 0xFC
                self._queue(2, bytes(resp))
            elif rid == 0xF2:  # command request
                self.commands.append(bytes(body))
                self._queue(
                    2, bytes((0xF1, body[1], body[2], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
                )


class HubClock:
    """The BNO085's own sampling clock and interrupt line, on the VM's virtual time.

    The hub samples every report interval of its clock (``ppm`` fast or slow against the
    ESP32's), queues the reports and pulls H_INTN low ``latency_us`` later (processing,
    varying per packet); the reports wait there until the host reads them. The packet
    starts with a base timestamp (0xFB) giving, in 100 us units, how long before the
    H_INTN edge its base time lies; each report's delay field gives its own time after
    the base (CEVA sh2.c: sample time = edge - base + delay). ``truth`` holds each
    sample's true device time (us) and its script step, for the tests.
    """

    def __init__(self, vclock, ppm=800, latency_us=(150, 450), seed=7):
        self.vclock = vclock
        self.ppm = ppm
        self.latency = latency_us
        self.rng = seed
        self.hub = None
        self.asserted = False
        self.t_assert = 0
        self.pending = []  # (t_us, step)
        self.truth = []
        self.gen = 0
        self.step = 0

    def _rand(self):
        self.rng = (self.rng * 1103515245 + 12345) & 0x7FFFFFFF
        return self.rng

    def configure(self):
        """Features changed: restart the sample chain at the fastest enabled interval."""
        self.gen += 1
        iv = [v for rid, v in self.hub.features.items() if v and rid in (1, 2, 3, 8)]
        if not iv:
            return
        period = min(iv) * 1_000_000 // (1_000_000 + self.ppm)  # hub interval, device us
        gen = self.gen

        def sample(t):
            if gen != self.gen:
                return
            self.pending.append((t, self.step))
            self.truth.append((t, self.step))
            self.step += 1
            if not self.asserted and len(self.pending) == 1:
                lo, hi = self.latency
                lat = lo + self._rand() % (hi - lo + 1)
                self.vclock.at(t + lat, self._assert, wakes=True)
            self.vclock.at(t + period, lambda: sample(t + period))

        t0 = self.vclock.now[0] + period
        self.vclock.at(t0, lambda: sample(t0))

    def _assert(self):
        if self.asserted or not self.pending:
            return
        self.asserted = True
        self.t_assert = self.vclock.now[0]
        machine.edge(self.hub.intn_pin, True)

    def packet(self):
        """The channel-3 packet of every pending sample; H_INTN goes high once read."""
        hub = self.hub
        base_t = self.pending[0][0]
        body = bytearray(b"\xfb") + struct.pack("<i", (self.t_assert - base_t + 50) // 100)
        steps = hub.steps
        taken = 0
        for t, step in self.pending:
            delay = (t - base_t + 50) // 100
            group = bytearray()
            for rep in steps[step % len(steps)]:
                rid = rep[0]
                if rid == 0x13 or hub.features.get(rid, 0):
                    r = bytearray(rep)
                    r[2] = (r[2] & 0x03) | ((delay >> 8) << 2)
                    r[3] = delay & 0xFF
                    group += r
            if len(body) + len(group) > 300:  # SHTP cargo limit: the rest waits
                break
            body += group
            taken += 1
        self.pending = self.pending[taken:]
        self.asserted = False
        if self.pending:  # more to send: H_INTN falls again at once
            self.vclock.after(20, self._assert, wakes=True)
        n = 4 + len(body)
        pkt = bytearray(n)
        struct.pack_into("<HBB", pkt, 0, n, 3, hub.seq[3])
        hub.seq[3] = (hub.seq[3] + 1) & 0xFF
        pkt[4:] = body
        return pkt


def counting_script(n=4096):
    """BNO085 reports whose game rotation vector counts the step in its i component
    (Q14 ints), so a repeated or missing sample shows in the data itself."""
    script = []
    for k in range(n):
        script.append(
            [
                struct.pack("<BBBBhhhh", 0x08, 0, 3, 0, k, 0, 0, 16384),
                struct.pack("<BBBBhhh", 0x02, 0, 3, 0, k, 0, 0),
                struct.pack("<BBBBhhh", 0x01, 0, 3, 0, 0, 0, 2510),
            ]
        )
    return script


class FakeLSM6DSOX:
    """Register file; each burst read starting at OUTX_L_G (0x22) serves the next sample."""

    def __init__(self, addr=0x6A, samples=None):
        self.regs = bytearray(128)
        self.regs[0x0F] = 0x6C
        self.regs[0x12] = 0x04  # CTRL3_C reset value: IF_INC
        self.samples = samples if samples is not None else [LSM_VECTORS["rest_flat"]]
        self.k = 0
        self.fail = False
        self.writes = []
        self.clock = None
        self.scripted = False  # FIFO without a clock: one sample per drain (``script_fifo``)
        self.ts_now = 0
        self._ts_next = 0
        self._word = 0
        self.fifo = []  # 7-byte words: tag, 6 data bytes
        self.overruns = 0
        machine.i2c_devices[addr] = self

    def clocked(self, clock):
        """Sample on ``clock`` (an ``LsmClock``): FIFO, timestamps, INT1 pulses."""
        self.clock = clock
        clock.lsm = self
        self.regs[0x63] = clock.freq_fine & 0xFF
        return self

    def script_fifo(self, ts_now, every=384):
        """Without a clock (allocation tests): each FIFO_STATUS read reports one sample
        (3 words), the words follow ``self.samples`` with timestamps ``every`` counts
        apart ending at ``ts_now``; the test moves ``ts_now`` on. Allocates nothing."""
        self.scripted = True
        self.ts_now = ts_now
        self._ts_next = ts_now
        self.every = every
        self._word = 0

    def _scripted(self, reg):
        r = self.regs
        if reg == 0x3A:
            r[0x3A] = 3
            r[0x3B] = 0
        elif reg == 0x40:
            struct.pack_into("<I", r, 0x40, self.ts_now & 0x3FFFFFFF)
        elif reg == 0x78:
            i = self._word
            cnt = (self._ts_next // self.every & 3) << 1
            if i == 0:
                r[0x78] = 4 << 3 | cnt
                struct.pack_into("<IH", r, 0x79, self._ts_next & 0x3FFFFFFF, 0)
            else:
                v = self.samples[self.k]
                r[0x78] = (1 if i == 1 else 2) << 3 | cnt
                o = 0 if i == 1 else 3
                struct.pack_into("<hhh", r, 0x79, v[o], v[o + 1], v[o + 2])
            if i == 2:
                self.k = self.k + 1 if self.k + 1 < len(self.samples) else 0
                self._ts_next += self.every
            self._word = 0 if i == 2 else i + 1

    def sample_at(self, count, step):
        """A new sample (timestamp counter ``count``): output registers and FIFO."""
        v = step_values(step)
        r = self.regs
        for i in range(6):
            x = v[i] & 0xFFFF
            r[0x22 + 2 * i] = x & 0xFF
            r[0x23 + 2 * i] = x >> 8
        r[0x1E] = 0x03
        mode = r[0x0A] & 0x07
        if mode != 0x06:  # only continuous mode batches
            return
        cnt = (step & 3) << 1
        words = []
        if r[0x0A] >> 6 == 1 and r[0x19] & 0x20:  # DEC_TS_BATCH 1, TIMESTAMP_EN
            words.append(bytes((4 << 3 | cnt,)) + struct.pack("<IH", count & 0xFFFFFFFF, 0))
        if r[0x09] >> 4:
            words.append(bytes((1 << 3 | cnt,)) + struct.pack("<hhh", v[0], v[1], v[2]))
        if r[0x09] & 0x0F:
            words.append(bytes((2 << 3 | cnt,)) + struct.pack("<hhh", v[3], v[4], v[5]))
        self.fifo.extend(words)
        if len(self.fifo) > 3 * 512:  # continuous mode: the oldest are overwritten
            del self.fifo[: len(self.fifo) - 3 * 512]
            self.overruns += 1

    def _load(self):
        s = self.samples[self.k]
        self.k = self.k + 1 if self.k + 1 < len(self.samples) else 0
        r = self.regs
        for i in range(6):
            v = s[i] & 0xFFFF
            r[0x22 + 2 * i] = v & 0xFF
            r[0x23 + 2 * i] = v >> 8
        r[0x1E] = 0x03  # GDA, XLDA

    def read(self, reg, buf):
        if self.fail:
            raise OSError(19)
        clk = self.clock
        if clk is not None:
            self._clocked_read(clk, reg, buf)
            return
        if self.scripted and reg == 0x78:  # whole words, 0x7E rolls back to 0x78
            for j in range(0, len(buf), 7):
                self._scripted(reg)
                for i in range(7):
                    buf[j + i] = self.regs[0x78 + i]
            return
        if self.scripted:
            self._scripted(reg)
        if reg == 0x22:
            self._load()
        inc = self.regs[0x12] & 0x04
        for i in range(len(buf)):
            buf[i] = self.regs[(reg + i) & 0x7F if inc else reg]

    def _clocked_read(self, clk, reg, buf):
        """Bus time passes (address, register, restart: 4 bytes) before the data."""
        clk.vclock.advance(4 * clk.us_per_byte)
        r = self.regs
        if reg == 0x3A:  # FIFO_STATUS1/2: unread words, FIFO_OVR_IA
            n = len(self.fifo)
            r[0x3A] = n & 0xFF
            r[0x3B] = (n >> 8) & 0x03 | (0x40 if self.overruns else 0)
            self.overruns = 0  # reported once
        elif reg == 0x40:  # TIMESTAMP0-3 latched now
            struct.pack_into("<I", r, 0x40, clk.counter(clk.vclock.now[0]) & 0xFFFFFFFF)
        elif reg == 0x78:  # FIFO_DATA_OUT_TAG .. Z_H, word after word: 0x7E rolls to 0x78
            for j in range(0, len(buf), 7):
                w = self.fifo.pop(0) if self.fifo else bytes(7)
                for i in range(min(7, len(buf) - j)):
                    buf[j + i] = w[i]
            clk.vclock.advance(len(buf) * clk.us_per_byte)
            return
        for i in range(len(buf)):
            buf[i] = r[(reg + i) & 0x7F]
        clk.vclock.advance(len(buf) * clk.us_per_byte)

    def write(self, reg, buf):
        self.writes.append((reg, bytes(buf)))
        for i in range(len(buf)):
            self.regs[(reg + i) & 0x7F] = buf[i]
        if reg == 0x0A and buf[0] & 0x07 == 0:  # bypass mode empties the FIFO
            self.fifo = []
            self.overruns = 0
        if self.clock is not None and reg == 0x11:
            self.clock.configure()


class LsmClock:
    """The LSM6DSOX's own oscillator, FIFO and INT1 line on the VM's virtual time.

    The chip's oscillator runs ``0.15 % * freq_fine + ppm`` off nominal (the datasheet's
    INTERNAL_FREQ_FINE step is 0.15 %; ``ppm`` is what that register does not tell):
    the timestamp counter (TIMESTAMP0-3, nominally 25 us) counts 40 kHz of it, and a
    sample at ODR code ``c`` comes every ``6 * (512 >> (c - 1))`` counts (6667 Hz / ODR
    coefficient: 104.17 Hz nominal at code 4). Each sample puts a timestamp, a gyro and
    an accelerometer word (same TAG_CNT) into the FIFO (continuous mode, 3 * 512 words)
    and, with INT1_DRDY_G in pulsed mode, pulses INT1 high ``latency_us`` later. Reading
    TIMESTAMP0 latches the counter at that moment; every I2C transfer takes bus time
    (``us_per_byte``), during which samples keep coming. ``truth`` holds each sample's
    true device time and step; the data count the step (``values``), so the tests can
    tell a repeated, missed or misplaced sample from the data.
    """

    def __init__(self, vclock, int1=3, ppm=-350, freq_fine=-7, latency_us=(2, 6), seed=11):
        self.vclock = vclock
        self.int1 = int1
        self.freq_fine = freq_fine
        self.rate = 1.0 + 0.0015 * freq_fine + ppm * 1e-6  # oscillator / nominal
        self.latency = latency_us
        self.us_per_byte = 23  # 400 kHz I2C: 9 bits per byte
        self.rng = seed
        self.lsm = None
        self.gen = 0
        self.step = 0
        self.t_origin = 0  # device time at counter 0
        self.truth = []  # (device time of the sample, step)

    def _rand(self):
        self.rng = (self.rng * 1103515245 + 12345) & 0x7FFFFFFF
        return self.rng

    def counter(self, t_us):
        """Timestamp counter at device time ``t_us`` (40 kHz of the chip's oscillator)."""
        return int((t_us - self.t_origin) * 0.04 * self.rate)

    def time_of(self, count):
        return self.t_origin + count / (0.04 * self.rate)

    def configure(self):
        """ODR written: restart the sample chain on the oscillator's grid."""
        self.gen += 1
        code = self.lsm.regs[0x11] >> 4
        if not 1 <= code <= 10:
            return
        every = 6 * (512 >> (code - 1))
        gen = self.gen
        now = self.vclock.now[0]
        k0 = self.counter(now) // every + 1

        def sample(k):
            if gen != self.gen:
                return
            t = self.time_of(k * every)
            self.lsm.sample_at(k * every, self.step)
            self.truth.append((t, self.step))
            self.step += 1
            if self.lsm.regs[0x0D] & 0x02 and self.lsm.regs[0x0B] & 0x80:
                lo, hi = self.latency
                lat = lo + self._rand() % (hi - lo + 1)
                self.vclock.at(int(t) + lat, self._pulse, wakes=True)
            self.vclock.at(int(self.time_of((k + 1) * every)) + 1, lambda: sample(k + 1))

        self.vclock.at(int(self.time_of(k0 * every)) + 1, lambda: sample(k0))

    def _pulse(self):
        machine.edge(self.int1, False)  # rising edge of the 75 us DRDY pulse


def step_values(step):
    """(gyro, acc) counts of sample ``step``: acc x counts the step (x 128, mod 2**15);
    the rest is a still sensor lying flat."""
    return (0, 0, 0, (step * 128) & 0x7FFF, 0, 8197)


class FakeLIS3MDL:
    """Register file; sub-address MSB = auto-increment (I2C), as in the datasheet."""

    def __init__(self, addr=0x1C, sample=MAG_VECTOR):
        self.regs = bytearray(128)
        self.regs[0x0F] = 0x3D
        for i in range(3):
            v = sample[i] & 0xFFFF
            self.regs[0x28 + 2 * i] = v & 0xFF
            self.regs[0x29 + 2 * i] = v >> 8
        self.writes = []
        machine.i2c_devices[addr] = self

    def read(self, reg, buf):
        base = reg & 0x7F
        inc = reg & 0x80
        for i in range(len(buf)):
            buf[i] = self.regs[(base + i) & 0x7F if inc else base]

    def write(self, reg, buf):
        self.writes.append((reg, bytes(buf)))
        base = reg & 0x7F
        for i in range(len(buf)):
            self.regs[(base + i) & 0x7F] = buf[i]


class Ticks:
    """A settable microsecond tick source (30-bit wrap) for the clock."""

    def __init__(self, t=0):
        self.t = t

    def __call__(self):
        return self.t

    def advance(self, dt):
        self.t = (self.t + dt) & 0x3FFFFFFF


def bno_report(name):
    return _hex(BNO_VECTORS[name])
