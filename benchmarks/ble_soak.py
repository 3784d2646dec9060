"""BLE soak: three simulated sensors through the real BLE source and the fake bleak
backend, for 30 simulated minutes at 100 Hz with 2 % loss (plus duplicates and
reordering) and three link drops per sensor, recorded into a session log.

The harness is the shared test reference ``tests/host/_ble_soak.py`` (the test suite runs
it for 3 minutes); this prints its report::

    PYTHONPATH=host:firmware python benchmarks/ble_soak.py [--minutes 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "host"))
from _ble_soak import soak


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--loss", type=float, default=0.02)
    ap.add_argument("--drops", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="write the full result here")
    args = ap.parse_args()
    r = soak(args.minutes, args.rate, args.loss, args.drops, args.seed)
    print(
        f"simulated {r['simulated_minutes']:g} min in {r['wall_s']:.1f} s wall "
        f"({r['speedup_vs_real_time']:.0f}x real time), CPU {r['cpu_s']:.1f} s"
    )
    print(
        f"notifications received {r['notifications_received']}, logged "
        f"{r['notifications_logged']}: all logged = {r['every_received_notification_logged']}"
        f", log clean = {r['log_clean']}"
    )
    for role, s in r["sensors"].items():
        print(
            f"  {role:<8} sent {s['samples_sent']} samples, fake lost "
            f"{s['samples_lost_by_fake']}, logged {s['samples_logged_unique']} "
            f"(all received: {s['all_received_samples_logged']}); drops {s['drops']}, "
            f"gaps marked: {s['drops_marked_as_gaps']}; drift true {s['drift_ppm_true']:.2f}"
            f" fit {s['drift_ppm_fit']:.2f} ppm"
        )
    m = r["memory"]
    print(
        f"memory after warm-up: traced {m['traced_mb_first_last_after_warmup'][0]:.2f} -> "
        f"{m['traced_mb_first_last_after_warmup'][1]:.2f} MB, RSS "
        f"{m['rss_mb_first_last_after_warmup'][0]:.1f} -> "
        f"{m['rss_mb_first_last_after_warmup'][1]:.1f} MB"
    )
    for name in ("alignment_sync", "alignment_arrival_only"):
        a = r[name]
        print(
            f"{name}: worst pair {a['worst_pair_ms']:.3f} ms; mean error "
            + ", ".join(f"{k} {v:.2f}" for k, v in a["mean_error_ms"].items())
            + " ms"
        )
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))
    ok = (
        r["every_received_notification_logged"]
        and r["log_clean"]
        and all(
            s["all_received_samples_logged"] and s["drops_marked_as_gaps"]
            for s in r["sensors"].values()
        )
        and r["alignment_sync"]["worst_pair_ms"] < 2.0
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
