"""Shared setup for the firmware tests: the fakes on sys.path, one VM run per session."""

import json

import pytest
from fwpaths import HERE, aioble_skip_reason, run_vm, vm_skip_reason


@pytest.fixture(scope="session")
def vm_results():
    """Run every fwcases case once in the VM: {name: (ok, payload)}, packets, raw output."""
    reason = vm_skip_reason()
    if reason:
        pytest.skip(reason)
    return _parse(run_vm(HERE / "vm_main.py"))


@pytest.fixture(scope="session")
def vm_link_results():
    """Run every linkcases case once in the VM on the real aioble (same shape as above)."""
    reason = aioble_skip_reason()
    if reason:
        pytest.skip(reason)
    return _parse(run_vm(HERE / "vm_link.py", heap="2m", aioble=True))


def _parse(proc):
    results, packets, summary = {}, [], None
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "PASS":
            name, _, payload = rest.partition(" ")
            results[name] = (True, json.loads(payload))
        elif kind == "FAIL":
            name, _, msg = rest.partition(" ")
            results[name] = (False, msg)
        elif kind == "PACKET":
            packets.append(bytes.fromhex(rest))
        elif kind == "SUMMARY":
            summary = json.loads(rest)
    if summary is None:
        pytest.fail(f"VM run did not finish:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {"results": results, "packets": packets, "stdout": proc.stdout, "stderr": proc.stderr}
