"""Paths and the VM runner for the firmware tests (a plain module: test files import it)."""

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIRMWARE = ROOT / "firmware"
NODE_MODULES = HERE / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
for p in (str(ROOT / "tests"), str(FIRMWARE), str(HERE / "fakes"), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

# the real aioble (micropython-lib), read-only in ../shared beside the clone (CI has it
# there too); HIPIMU_SHARED points elsewhere (e.g. from a git worktree; docs/testing.md)
from shared_dirs import SHARED  # noqa: E402

AIOBLE = SHARED / "vendor" / "micropython-lib" / "aioble"


def vm_skip_reason():
    if shutil.which("node") is None:
        return "node not found (Node 20 runs the MicroPython WebAssembly VM)"
    if not NODE_MODULES.exists():
        return "tests/firmware/node_modules missing: run `npm ci --prefix tests/firmware`"
    return None


def aioble_skip_reason():
    """Why the tests on the real aioble cannot run here, or None."""
    reason = vm_skip_reason()
    if reason:
        return reason
    if not (AIOBLE / "aioble" / "__init__.py").exists():
        return (
            f"the real aioble is not at {AIOBLE} (a clone without ../shared; set "
            "HIPIMU_SHARED to the folder holding vendor/micropython-lib)"
        )
    return None


def run_vm(script, *args, heap="512k", timeout=300, aioble=False):
    """Run ``script`` in the MicroPython VM; returns the CompletedProcess.

    ``aioble``: also load the real aioble and the stand-ins below it (tests/firmware/vmlib).
    """
    extra = ["--aioble", str(AIOBLE)] if aioble else []
    return subprocess.run(
        ["node", str(HERE / "run_vm.mjs"), "--heap", heap, *extra, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
