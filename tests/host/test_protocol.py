"""Host decoder: golden bytes, every rejection reason, and never raising on any input."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipimu.wire import protocol
from hipimu_fw import packet


def encode(
    samples=1,
    *,
    role=1,
    seq=7,
    t0=123_456,
    flags=0,
    content=1,
    rate=100.0,
    ranges=None,
    quat=(1.0, 0.0, 0.0, 0.0),
    raw=(100, -200, 300),
) -> bytes:
    """A packet made by the firmware's own encoder."""
    ranges = packet.ranges_byte() if ranges is None else ranges
    enc = packet.PacketEncoder(role, content, packet.rate_code(rate), ranges)
    enc.seq = seq
    ss = packet.sample_size(content)
    body = bytearray(ss * samples)
    for k in range(samples):
        off = k * ss
        if content & packet.CONTENT_QUAT:
            off = packet.pack_quat(body, off, *quat)
        for bit in (packet.CONTENT_GYR, packet.CONTENT_ACC, packet.CONTENT_MAG):
            if content & bit:
                off = packet.pack_vec_raw(body, off, *raw)
    return bytes(enc.encode(t0, flags, body, samples))


def test_hand_checked_golden_packet():
    """Bytes written out by hand from docs/protocol.md."""
    golden = bytes.fromhex("01 01 0201 01020304 01 05 31 0c 0040 0000 0000 0000".replace(" ", ""))
    made = encode(
        role=1,
        seq=0x0102,
        t0=0x04030201,
        flags=0x05,
        content=1,
        rate=100.0,
        ranges=packet.ranges_byte(4, 1, 0),
    )
    assert made == golden
    pkt = protocol.decode(golden)
    assert isinstance(pkt, protocol.Packet)
    assert (pkt.role, pkt.seq, pkt.t0_us, pkt.count, pkt.flags) == (1, 0x0102, 0x04030201, 1, 5)
    assert pkt.rate_hz == 100.0 and pkt.role_name == "femur_r"
    np.testing.assert_array_equal(pkt.quat, [[1.0, 0.0, 0.0, 0.0]])
    assert pkt.gyr is None and pkt.acc is None and pkt.mag is None


def test_raw_blocks_are_scaled_to_si_units():
    data = encode(2, content=15, ranges=packet.ranges_byte(4, 1, 3), raw=(16384, -32768, 0))
    pkt = protocol.decode(data)
    assert isinstance(pkt, protocol.Packet)
    assert len(data) == 12 + 2 * 26
    np.testing.assert_allclose(pkt.gyr[0], np.deg2rad([1000.0, -2000.0, 0.0]))  # 2000 dps fs
    np.testing.assert_allclose(pkt.acc[0], [2 * 9.80665, -4 * 9.80665, 0.0])  # 4 g fs
    np.testing.assert_allclose(pkt.mag[1], [800.0, -1600.0, 0.0])  # 1600 uT fs


def test_quaternion_q14_round_trip_error_is_below_1e4():
    rng = np.random.default_rng(5)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    pkt = protocol.decode(encode(quat=tuple(q)))
    assert np.max(np.abs(pkt.quat[0] - q)) <= 0.5 / 16384 + 1e-12


def header(**fields) -> bytearray:
    base = dict(version=1, role=0, seq=0, t0=0, count=1, flags=0, content=0x31, ranges=0x0C)
    base.update(fields)
    return bytearray(struct.pack("<BBHIBBBB", *base.values()))


QUAT = struct.pack("<hhhh", 16384, 0, 0, 0)

REJECTIONS = {
    "too_short": bytes(11),
    "unknown_version": bytes(header(version=2)) + QUAT,
    "unknown_role": bytes(header(role=16)) + QUAT,
    "bad_count": bytes(header(count=0)),
    "no_content": bytes(header(content=0x30)) + QUAT,
    "bad_rate": bytes(header(content=0x71)) + QUAT,
    "bad_range": bytes(header(ranges=0x06)) + QUAT,
    "reserved_flags": bytes(header(flags=0x20)) + QUAT,
    "length_mismatch": bytes(header(count=2)) + QUAT,
    "non_unit_quaternion": bytes(header()) + struct.pack("<hhhh", 0, 0, 0, 0),
}


def test_every_rejection_reason_is_tested():
    assert set(REJECTIONS) == set(protocol.REJECT_REASONS)


@pytest.mark.parametrize("reason", protocol.REJECT_REASONS)
def test_rejection_reasons(reason):
    result = protocol.decode(REJECTIONS[reason])
    assert isinstance(result, protocol.Rejected)
    assert result.reason == reason
    assert result.detail and str(len(REJECTIONS[reason])) in str(result)


def test_count_above_maximum_and_reserved_range_bit():
    assert protocol.decode(bytes(header(count=17)) + QUAT * 17).reason == "bad_count"
    assert protocol.decode(bytes(header(ranges=0x80)) + QUAT).reason == "bad_range"


def test_decoder_counts_rejections_and_carries_on():
    dec = protocol.Decoder()
    good = encode(3)
    assert dec.decode(b"\x01") is None
    assert dec.decode(good) is not None
    assert dec.decode(REJECTIONS["bad_rate"]) is None
    assert dec.accepted == 1
    assert dec.rejected == {"too_short": 1, "bad_rate": 1}
    assert dec.last_rejection.reason == "bad_rate"


VALID = [encode(n, content=c, flags=f) for n in (1, 4, 16) for c in (1, 3, 15) for f in (0, 7)]


def _check_never_raises(data: bytes) -> None:
    result = protocol.decode(data)
    assert isinstance(result, protocol.Packet | protocol.Rejected)
    if isinstance(result, protocol.Packet):
        assert len(data) == 12 + result.count * protocol.sample_size(data[10] & 0x0F)
        if result.quat is not None:
            assert np.all(np.abs(np.linalg.norm(result.quat, axis=1) - 1) <= 0.02)


def _mutate(base: bytes, flips, resize: int) -> bytes:
    """``base`` with bytes overwritten at ``flips`` and ``resize`` bytes added or cut at the end."""
    data = bytearray(base)
    for pos, value in flips:
        data[pos % len(data)] = value
    if resize > 0:
        data += bytes(resize)
    elif resize < 0:
        del data[resize:]
    return bytes(data)


# Hypothesis searches the input space and shrinks a failure to a small example; a few hundred
# examples each are enough for that.  The bulk of the fuzzing is the seeded loops below: the
# same inputs without Hypothesis's per-example overhead (10,000 examples took 16 s that way,
# 50,000 plain ones take under 1 s).
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data):
    _check_never_raises(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 511), st.integers(0, 255)), max_size=6),
    st.integers(-8, 8),
)
def test_mutated_packets_never_raise(base, flips, resize):
    _check_never_raises(_mutate(base, flips, resize))


def test_50000_seeded_random_inputs_never_raise():
    rng = np.random.default_rng(20261207)
    for _ in range(50_000):
        length = int(rng.integers(0, 601))
        _check_never_raises(rng.integers(0, 256, length, dtype=np.uint8).tobytes())


def test_50000_seeded_mutated_packets_never_raise():
    rng = np.random.default_rng(20261208)
    decoded = 0
    for _ in range(50_000):
        base = VALID[int(rng.integers(len(VALID)))]
        flips = rng.integers(0, [512, 256], size=(int(rng.integers(0, 7)), 2))
        data = _mutate(base, flips.tolist(), int(rng.integers(-8, 9)))
        _check_never_raises(data)
        decoded += isinstance(protocol.decode(data), protocol.Packet)
    # the mutations must reach the accepting path too, not only the early rejections
    assert 0 < decoded < 50_000
