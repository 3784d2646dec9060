"""The BLE soak harness, a shared test reference: tests/host/test_ble_soak.py runs it
short, benchmarks/ble_soak.py long. Three simulated sensors through the real BLE source
and the fake bleak backend, for 30 simulated minutes at 100 Hz with 2 % loss (plus duplicates and
reordering) and three link drops per sensor, recorded into a session log.

Simulated time runs on a virtual-time event loop (no real sleeping). Checks and
reports: no crash; memory over time (tracemalloc and RSS, after a warm-up); every
notification the source received is in the log; every sample the firmware sent and
the fake did not drop is in the log; each drop is a marked gap; clock alignment
between sensors against the simulator's true clocks (ping/echo sync, and for contrast
the arrival-time-only fit).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from hipimu.sources.ble.fake import Faults, simulated_world, stream_for
from hipimu.sources.ble.vtime import run_virtual
from hipimu.store.log import SessionLogWriter, read_log
from hipimu.stream.assembler import U32, SessionAssembler

KIT = 0x50A4


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def true_host_times(world, tl) -> np.ndarray:
    p = world.peripherals[tl.sensor]
    approx = p.clock.device_us(tl.host_time - world.epoch)
    dev = tl.device_us + np.round((approx - tl.device_us) / U32) * U32
    return p.clock.true_time(dev) + world.epoch


def alignment(world, timelines, margin_s: float = 30.0) -> dict:
    """Clock errors per sensor and the worst difference between any two sensors (ms)."""
    err = {r: tl.host_time - true_host_times(world, tl) for r, tl in timelines.items()}
    start = max(tl.host_time[0] for tl in timelines.values()) + margin_s
    end = min(tl.host_time[-1] for tl in timelines.values()) - margin_s
    grid = np.linspace(start, end, 2000)
    on = {r: np.interp(grid, timelines[r].host_time, e) for r, e in err.items()}
    roles = sorted(on)
    pairs = {
        f"{a}-{b}": float(np.max(np.abs(on[a] - on[b])) * 1e3)
        for i, a in enumerate(roles)
        for b in roles[i + 1 :]
    }
    return {
        "worst_pair_ms": max(pairs.values()),
        "pairs_max_ms": pairs,
        "mean_error_ms": {r: float(np.mean(e) * 1e3) for r, e in err.items()},
        "spread_ms": {r: float(np.ptp(e) * 1e3) for r, e in err.items()},
    }


def soak(
    minutes: float = 30.0,
    rate_hz: int = 100,
    loss: float = 0.02,
    drops_per_sensor: int = 3,
    seed: int = 0,
    out_dir: Path | None = None,
    verbose: bool = True,
) -> dict:
    duration = minutes * 60.0
    rng = np.random.default_rng(seed)
    world = simulated_world(KIT, seed=seed, motion="swing")
    own = [p.address for p in world.peripherals.values() if p.cfg.kit == KIT]
    for p in world.peripherals.values():
        p.cfg.rate = rate_hz
    drops = {
        a: sorted(
            float(t)
            for t in (np.arange(1, drops_per_sensor + 1) / (drops_per_sensor + 1)) * duration
            + rng.uniform(-0.05, 0.05, drops_per_sensor) * duration
        )
        for a in own
    }
    world.faults = Faults(loss=loss, duplicate=0.005, reorder=0.005, drops=drops, down_s=4.0)
    world._drops = {a: list(ts) for a, ts in drops.items()}
    tmp = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="hipimu-soak-"))
    log_path = tmp / "session.hiplog"
    if log_path.exists():
        log_path.unlink()
    memory: list[tuple[float, float, float]] = []  # (sim minutes, tracemalloc MB, RSS MB)
    counts = {"logged": 0}

    async def main():
        log = SessionLogWriter(log_path, fsync_interval=2.0)

        def note(n):
            log.notification(n)
            counts["logged"] += 1

        async def sample_memory():
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            while True:
                await asyncio.sleep(60.0)
                gc.collect()
                cur, _peak = tracemalloc.get_traced_memory()
                memory.append(((loop.time() - t0) / 60.0, cur / 2**20, rss_mb()))
                if verbose:
                    m = memory[-1]
                    print(
                        f"  {m[0]:5.1f} min  traced {m[1]:7.2f} MB  RSS {m[2]:7.1f} MB",
                        file=sys.stderr,
                    )

        mem_task = asyncio.get_running_loop().create_task(sample_memory())
        try:
            run = await stream_for(
                world,
                KIT,
                duration,
                keep=False,
                on_notification=note,
                on_event=log.event,
                rate_hz=rate_hz,
                seed=seed,
                connect_timeout=5.0,
            )
        finally:
            mem_task.cancel()
            log.close()
        return run

    tracemalloc.start()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    run = run_virtual(main())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    tracemalloc.stop()

    contents = read_log(log_path)
    received = run.source.received
    asm = SessionAssembler()
    asm.extend(contents.notifications)
    for e in contents.events:
        asm.add_event(e)
    timelines = asm.timelines()
    arrival_only = SessionAssembler()
    arrival_only.extend(contents.notifications)
    sensors = {}
    for role, tl in timelines.items():
        p, st = world.peripherals[tl.sensor], world.stats[tl.sensor]
        long_gaps = [g for g in tl.gaps if g[1] - g[0] > 1.0]
        covered = all(
            any(
                g0 <= world.host_time(d0) + 0.05 and g1 >= world.host_time(d1) - 0.05
                for g0, g1 in long_gaps
            )
            for d0, d1 in st.down
        )
        gap_events = [e for e in contents.events if e["type"] == "gap" and e["sensor"] == tl.sensor]
        sensors[role] = {
            "samples_sent": p.samples_sent,
            "samples_lost_by_fake": st.lost_samples,
            "samples_logged_unique": len(tl.device_us),
            "samples_undelivered_at_close": st.undelivered_samples,
            "all_received_samples_logged": len(tl.device_us)
            == p.samples_sent - st.lost_samples - st.undelivered_samples,
            "duplicates_logged": tl.duplicates,
            "duplicates_sent": st.duplicated,
            "drops": st.drops,
            "long_gaps": len(long_gaps),
            "gap_events": len(gap_events),
            "drops_marked_as_gaps": covered and len(gap_events) == st.drops,
            "sync_points": tl.sync_points,
            "drift_ppm_true": p.clock.drift_ppm,
            "drift_ppm_fit": tl.clock.drift_ppm,
        }
    traced = [m[1] for m in memory]
    warm = [m for m in memory if m[0] >= 5.0] or memory
    result = {
        "simulated_minutes": minutes,
        "rate_hz": rate_hz,
        "loss": loss,
        "wall_s": wall,
        "cpu_s": cpu,
        "speedup_vs_real_time": duration / wall,
        "notifications_received": received,
        "notifications_logged": len(contents.notifications),
        "every_received_notification_logged": received
        == len(contents.notifications)
        == counts["logged"],
        "log_clean": contents.recovery.clean,
        "sensors": sensors,
        "memory": {
            "traced_mb_first_last_after_warmup": [warm[0][1], warm[-1][1]] if warm else None,
            "traced_mb_max": max(traced) if traced else None,
            "rss_mb_first_last_after_warmup": [warm[0][2], warm[-1][2]] if warm else None,
            "samples": memory,
        },
        "alignment_sync": alignment(world, timelines),
        "alignment_arrival_only": alignment(world, arrival_only.timelines()),
        "log": str(log_path),
    }
    return result
