"""The firmware's BLE side and asyncio tasks on the real aioble (micropython-lib 0.6.2),
run in the MicroPython VM with stand-ins only below aioble (tests/firmware/vmlib) and on
virtual time: advertising, connection, sensor-requested MTU exchange, control writes,
notify back-pressure, samples kept across a reconnect, Device Information and Battery,
pairing and bonds across a reboot, idle power-off, the watchdog (linkcases.py).

Without ../shared (a user's clone) these tests skip and say why.
"""

import ast

import pytest
from fwpaths import HERE


def _case_names():
    """The names in linkcases.CASES (a MicroPython-only module: read, not imported)."""
    tree = ast.parse((HERE / "linkcases.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "CASES":
            return [elt.id for elt in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError("linkcases.CASES not found")


@pytest.mark.parametrize("name", _case_names())
def test_link_case_on_real_aioble(vm_link_results, name):
    ok, payload = vm_link_results["results"].get(name, (False, "did not run"))
    out = vm_link_results["stdout"][-3000:] + vm_link_results["stderr"][-2000:]
    assert ok, f"{name} failed in the VM on the real aioble: {payload}\n{out}"


def test_no_silent_failures(vm_link_results):
    """Every scenario ran without a task exception nobody looked at."""
    assert "wasn't retrieved" not in vm_link_results["stdout"], vm_link_results["stdout"][-3000:]
