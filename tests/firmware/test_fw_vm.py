"""The firmware logic in the real MicroPython VM (WebAssembly port under Node)."""

import fwcases
import numpy as np
import pytest


@pytest.mark.parametrize("name", [c.__name__ for c in fwcases.CASES])
def test_case_in_vm(vm_results, name):
    ok, payload = vm_results["results"].get(name, (False, "did not run"))
    assert ok, f"{name} failed in the VM: {payload}\n{vm_results['stderr'][-2000:]}"


def test_zero_bytes_per_sample(vm_results):
    ok, m = vm_results["results"]["case_memory_zero_alloc"]
    assert ok
    paths = (
        "bno085_quat",
        "bno085_9d",
        "bno085_irq_9d",
        "lsm6dsox_raw9d",
        "lsm6dsox_mahony_int_9d",
    )
    for path in paths:
        assert m[path]["mem_free_delta_10000"] == 0, m
        assert m[path]["heap_lock_ok"], m


def test_vm_packets_decode_on_host(vm_results):
    protocol = pytest.importorskip("hipimu.wire.protocol", reason="host decoder not importable")
    packets = vm_results["packets"]
    assert len(packets) >= 20
    seen = set()
    for raw in packets:
        pkt = protocol.decode(raw)
        assert isinstance(pkt, protocol.Packet), (pkt, raw.hex())
        assert pkt.role == 1 and 1 <= pkt.count <= 16
        content = raw[10] & 0x0F
        seen.add(content)
        if pkt.quat is not None:
            assert np.allclose(np.linalg.norm(pkt.quat, axis=1), 1.0, atol=0.02)
        if pkt.acc is not None and content == 15:
            # BNO085 fake: 1 g on z (Q8 2510) -> 8 g full scale on the wire
            assert np.allclose(pkt.acc[:, 2], 9.80665, atol=0.02), pkt.acc
        if pkt.gyr is not None and content == 14:
            # LSM6DSOX fake alternates rest and 100 deg/s about x
            assert set(np.round(np.degrees(pkt.gyr[:, 0]))) <= {0.0, 100.0}, pkt.gyr
    assert seen == {1, 14, 15}
