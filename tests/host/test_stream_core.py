"""The vectorised parts of the offline path against their one-at-a-time definitions:
``decode_batch`` against ``decode`` (fuzzed payloads), the batch filing of the stream
core against pushing packet by packet, slerp against scipy, gap masks against a loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp
from test_session import stream_notes

from hipimu.core.types import Notification
from hipimu.reference.quaternion import slerp as reference_slerp
from hipimu.stream.assembler import SessionAssembler
from hipimu.stream.resample import in_gaps, slerp
from hipimu.stream.unwrap import U16, U32, unwrap_chain, unwrap_near
from hipimu.wire.protocol import Decoder, Rejected, decode, decode_batch, decode_batch_buffer
from hipimu_fw import packet
from hipimu_fw.stream import Streamer


def firmware_payloads(n, content, batch, seed=0):
    """Payloads the firmware's Streamer packs (raw content: gyr/acc/mag ranges as set)."""
    rng = np.random.default_rng(seed)
    st = Streamer(1, content, 100.0, packet.ranges_byte(), batch=batch)
    out = []
    for k in range(n):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        if content & packet.CONTENT_QUAT:
            st.push_quat(k * 10_000, *q)
        else:
            counts = rng.integers(-30000, 30000, 9).tolist()
            st.push_raw(k * 10_000, q, counts[:3], counts[3:6], counts[6:])
        p = st.next_packet()
        if p is not None:
            st.commit()
            out.append(bytes(p))
    return out


def fuzzed(payloads, rng, n):
    out = []
    for i in rng.integers(0, len(payloads), n):
        b = bytearray(payloads[i])
        for _ in range(rng.integers(1, 3)):
            b[rng.integers(len(b))] = rng.integers(256)
        if rng.random() < 0.2:
            b = b[: rng.integers(len(b) + 1)]
        out.append(bytes(b))
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_decode_batch_accepts_and_rejects_exactly_what_decode_does(seed):
    rng = np.random.default_rng(seed)
    good = firmware_payloads(400, packet.CONTENT_QUAT, 4) + firmware_payloads(
        200, packet.CONTENT_QUAT, 1
    )
    good += firmware_payloads(200, packet.CONTENT_GYR | packet.CONTENT_ACC, 3)
    good += firmware_payloads(100, packet.CONTENT_GYR | packet.CONTENT_ACC | packet.CONTENT_MAG, 2)
    payloads = good + fuzzed(good, rng, 1500)
    order = rng.permutation(len(payloads))
    payloads = [payloads[i] for i in order]
    batches, rejected = decode_batch(payloads)
    seen = {i for i, _ in rejected}
    for i, reason in rejected:
        assert decode(payloads[i]) == reason
    for batch in batches.values():
        assert np.all(np.diff(batch.index) > 0)
        for j, i in enumerate(batch.index.tolist()):
            seen.add(i)
            want, got = decode(payloads[i]), batch.packet(j)
            assert not isinstance(want, Rejected)
            assert (want.role, want.seq, want.t0_us, want.count, want.flags, want.rate_hz) == (
                got.role, got.seq, got.t0_us, got.count, got.flags, got.rate_hz
            )  # fmt: skip
            for name in ("quat", "gyr", "acc", "mag"):
                a, b = getattr(want, name), getattr(got, name)
                assert (a is None and b is None) or np.array_equal(a, b), name
    assert seen == set(range(len(payloads)))
    assert 0 < len(rejected) < len(payloads)
    dec = Decoder()
    dec.decode_batch(payloads)
    one = Decoder()
    for p in payloads:
        one.decode(p)
    assert (dec.accepted, dec.rejected) == (one.accepted, one.rejected)


def test_unwrap_chain_is_unwrap_near_step_by_step():
    rng = np.random.default_rng(2)
    for modulus in (U16, U32):
        true = np.cumsum(rng.integers(-modulus // 4, modulus // 3, 500)) + modulus * 3
        raw = true % modulus
        out = unwrap_chain(raw, modulus, start=int(true[0]))
        ref = [int(true[0])]
        for v in raw[1:].tolist():
            ref.append(unwrap_near(v, ref[-1], modulus))
        assert out.tolist() == ref == true.tolist()


def messy(notes, rng):
    """Duplicates (some late), reordered pairs and a restart in the middle."""
    notes = list(notes)
    for k in rng.choice(len(notes) - 2, 6, replace=False):
        notes[k], notes[k + 1] = (
            Notification(notes[k].host_time, notes[k].sensor, notes[k + 1].payload),
            Notification(notes[k + 1].host_time, notes[k].sensor, notes[k].payload),
        )
    copies = [
        Notification(notes[k].host_time + rng.uniform(0.0, 2.0), notes[k].sensor, notes[k].payload)
        for k in rng.choice(len(notes), 8, replace=False)
    ]
    return sorted(notes + copies, key=lambda n: n.host_time)


def mixed_batches(n, rate=100.0):
    """Notifications whose sample counts change (4, then 1, 3, 4): payloads of several
    lengths, as after an MTU change or a flush."""
    st = Streamer(packet.ROLE_PELVIS, packet.CONTENT_QUAT, rate, packet.ranges_byte(), batch=4)
    notes = []
    for k in range(n):
        if k % 500 == 0:
            st.set_batch((4, 1, 3, 4)[(k // 500) % 4])
        a = 0.01 * k
        st.push_quat(k * 10_000, np.cos(a / 2), 0.0, 0.0, np.sin(a / 2))
        p = st.next_packet()
        if p is not None:
            st.commit()
            notes.append(Notification(k / rate + 0.005, "A", bytes(p)))
    return notes


@pytest.mark.parametrize(
    "case",
    ["clean", "wrap", "messy", "reboot", "two sensors", "a second extend", "mixed lengths"],
)
def test_filing_a_whole_log_at_once_equals_packet_by_packet(case):
    rng = np.random.default_rng(5)
    notes = stream_notes(3000, t_start_us=2**32 - 10_000_000 if case == "wrap" else 1_000)
    if case == "messy":
        notes = messy(notes, rng)
    if case == "mixed lengths":
        notes = mixed_batches(3000)
        assert len({len(n.payload) for n in notes}) == 3
    if case == "reboot":
        notes = notes + stream_notes(400, t_start_us=200_000, offset_s=notes[-1].host_time + 3)
    if case == "two sensors":
        other = stream_notes(2000, t_start_us=5_000_000, offset_s=1.0, address="B", role=2)
        notes = sorted(notes + other, key=lambda n: n.host_time)
    batch, single = SessionAssembler(), SessionAssembler()
    if case == "a second extend":
        batch.extend(notes[:100])
        batch.extend(notes[100:])
    else:
        batch.extend(notes)
    for n in notes:
        single.add(n)
    a, b = batch.timelines(), single.timelines()
    assert a.keys() == b.keys()
    for role in a:
        x, y = a[role], b[role]
        for name in ("device_us", "host_time", "quat", "flags"):
            assert np.array_equal(getattr(x, name), getattr(y, name)), name
        assert (x.packets, x.duplicates, x.lost_packets, x.restarts, x.gaps, x.clocks) == (
            y.packets, y.duplicates, y.lost_packets, y.restarts, y.gaps, y.clocks
        )  # fmt: skip
    if case == "messy":
        assert a["pelvis"].duplicates == 8
    if case == "reboot":
        assert a["pelvis"].restarts == 1


def test_slerp_matches_scipy():
    rng = np.random.default_rng(0)
    q = Rotation.random(1000, random_state=1).as_quat(scalar_first=True)
    walk = Rotation.from_rotvec(np.cumsum(rng.normal(0, 0.05, (500, 3)), axis=0))
    q[:500] = walk.as_quat(scalar_first=True)
    q[600] = q[599]  # no rotation between two samples
    q[700] = -q[699]  # the same rotation, other hemisphere
    times = np.cumsum(rng.uniform(0.005, 0.02, 1000))
    t = np.sort(rng.uniform(times[0], times[-1], 5000))
    t[0], t[-1] = times[0], times[-1]
    want = Slerp(times, Rotation.from_quat(q, scalar_first=True))(t).as_quat(scalar_first=True)
    got = slerp(times, q, t)
    assert np.max(np.abs(np.abs(np.sum(want * got, axis=1)) - 1.0)) < 1e-12
    # the C kernel against its numpy twin, sign included
    np.testing.assert_allclose(got, reference_slerp(times, q, t), atol=1e-13)
    np.testing.assert_allclose(slerp(times, 3.0 * q, t), got, atol=1e-13)  # not unit
    with pytest.raises(ValueError, match="strictly increasing"):
        slerp(times[::-1], q, t)


def test_gap_mask_matches_a_loop_over_gaps():
    time = np.linspace(0.0, 10.0, 1001)
    gaps = [(1.0, 2.0), (1.5, 3.0), (5.0, 5.005), (9.99, 12.0), (-1.0, 0.0)]
    ok = np.ones(len(time), dtype=bool)
    for g0, g1 in gaps:
        ok &= ~((time > g0) & (time < g1))
    assert np.array_equal(in_gaps(time, gaps), ~ok)
    assert not in_gaps(time, []).any()


def test_decode_batch_buffer_equals_decode_batch():
    """Payloads read in place from one buffer decode as the same payloads as bytes,
    rejections (and their reasons) included."""
    notes = stream_notes(4000)
    payloads = [n.payload for n in notes]
    payloads[5] = payloads[5][:7]  # too short
    payloads[9] = bytes([99]) + payloads[9][1:]  # wrong version
    payloads[11] = payloads[11] + b"\x00"  # wrong length
    gap = b"\xee" * 3
    data = gap + gap.join(payloads) + gap
    start = np.cumsum([3] + [len(p) + 3 for p in payloads[:-1]])
    stop = start + np.array([len(p) for p in payloads])
    a, rejected_a = decode_batch(payloads)
    b, rejected_b = decode_batch_buffer(data, start, stop)
    assert [(i, r.reason) for i, r in rejected_a] == [(i, r.reason) for i, r in rejected_b]
    assert {5, 9, 11} <= {i for i, _ in rejected_a}
    assert a.keys() == b.keys()
    for c in a:
        for name in ("index", "seq", "t0_us", "count", "quat"):
            x, y = getattr(a[c], name), getattr(b[c], name)
            assert (x is None and y is None) or np.array_equal(x, y), name
    with pytest.raises(ValueError, match="outside the data"):
        decode_batch_buffer(data, start, stop + len(data))
