"""Relative loop cost of the firmware's per-sample path: MicroPython VM vs CPython.

    python benchmarks/firmware_loop.py [n]

Runs tests/firmware/fwbench.py in the real MicroPython VM (WebAssembly, under Node; needs
``npm ci --prefix tests/firmware``) and under CPython (the named peer), and prints
microseconds per sample and the VM/CPython ratio for each part:

- ``loop``: one ``x += i`` iteration of a ``for ... in range`` loop (calibration);
- ``stream``: Streamer push + batching (the firmware's streaming core);
- ``bno_parse``: BNO085 driver: parse one report packet and pack the sample;
- ``mahony_int``: one 9D update of the integer Mahony filter (the LSM6DSOX path);
- ``full_fake``: App.tick + App.pump on the fake SPI bus (dominated by the fake's
  byte-by-byte bus emulation in Python: an upper bound, not the device cost);
- ``lsm_fifo``: the LSM6DSOX FIFO path per sample without the bus (three FIFO words,
  their device time, the 9D integer filter, interpolation onto the grid, pack).

The expected ESP32-S3 figure scales the VM numbers by ``DEVICE_LOOP_US / loop``: the
assumed time of the calibration loop on an ESP32-S3 at 240 MHz running from flash over
the VM's measured one. It is an estimate until checked on a board with
``mpremote run firmware/tools/loop_cost.py``, which measures the same loop and paths on
the device. Budget: 2 ms per sample at 100 Hz, with room for BLE.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "firmware"
DEVICE_LOOP_US = 1.2  # assumed ESP32-S3 (240 MHz) time per `x += i` loop iteration
BUDGET_US = 2000.0


def run_vm(n):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(f"import json, fwbench\nprint('BENCH', json.dumps(fwbench.main({n})))\n")
        script = f.name
    proc = subprocess.run(
        ["node", str(TESTS / "run_vm.mjs"), script], capture_output=True, text=True, cwd=ROOT
    )
    Path(script).unlink()
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise SystemExit(f"VM run failed:\n{proc.stdout}\n{proc.stderr}")


def run_cpython(n):
    for p in (ROOT / "firmware", TESTS / "fakes", TESTS):
        sys.path.insert(0, str(p))
    import fwbench

    return fwbench.main(n)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    vm = run_vm(n)
    cp = run_cpython(n)
    factor = DEVICE_LOOP_US / vm["loop"]
    print(f"firmware per-sample loop cost, n={n} (us per sample; loop: us per iteration)")
    print(f"ESP32-S3 estimate: VM x {factor:.2f} (assumed device loop {DEVICE_LOOP_US} us)")
    print(f"{'part':<12}{'MicroPython VM':>16}{'CPython':>10}{'ratio':>8}{'ESP32-S3 est.':>15}")
    for k in ("loop", "stream", "bno_parse", "mahony_int", "full_fake", "lsm_fifo"):
        print(f"{k:<12}{vm[k]:>16.3f}{cp[k]:>10.3f}{vm[k] / cp[k]:>8.1f}{vm[k] * factor:>15.1f}")
    device = (vm["stream"] + vm["bno_parse"]) * factor
    print(
        f"BNO085 path on the ESP32-S3 (stream + driver, est.): {device:.0f} us of the "
        f"{BUDGET_US:.0f} us budget, plus the SPI transfer (~30 bytes at 3 MHz: ~0.1 ms)"
    )
    raw = (vm["stream"] + vm["mahony_int"]) * factor
    print(
        f"LSM6DSOX polled path with on-sensor fusion (stream + Mahony, est.): {raw:.0f} us, "
        f"plus two I2C reads at 400 kHz (~0.6 ms)"
    )
    fifo = (vm["stream"] + vm["lsm_fifo"]) * factor
    print(
        f"LSM6DSOX FIFO path, 9D (stream + driver, est.): {fifo:.0f} us per sample, plus "
        f"~0.5 ms of 400 kHz I2C (FIFO bursts): {(fifo + 500) * 416 / 1e4:.0f} % of the "
        f"CPU at 416 Hz"
    )


if __name__ == "__main__":
    main()
