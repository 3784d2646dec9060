"""Paths and the VM runner for the firmware tests (a plain module: test files import it)."""

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIRMWARE = ROOT / "firmware"
NODE_MODULES = HERE / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"

for p in (str(FIRMWARE), str(HERE / "fakes"), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)


def vm_skip_reason():
    if shutil.which("node") is None:
        return "node not found (Node 20 runs the MicroPython WebAssembly VM)"
    if not NODE_MODULES.exists():
        return "tests/firmware/node_modules missing: run `npm ci --prefix tests/firmware`"
    return None


def run_vm(script, *args, heap="512k", timeout=300):
    """Run ``script`` in the MicroPython VM; returns the CompletedProcess."""
    return subprocess.run(
        ["node", str(HERE / "run_vm.mjs"), "--heap", heap, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
