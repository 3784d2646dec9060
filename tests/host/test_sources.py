"""Sources share one interface and deliver the simulator's notifications unchanged."""

from __future__ import annotations

import asyncio
import time

from hipimu.core.types import Source
from hipimu.simulate import Protocol, simulate_session
from hipimu.sources.simulated import SimulatedSource


def collect(source, limit=None):
    async def run():
        out = []
        async for note in source.stream():
            out.append(note)
            if limit and len(out) >= limit:
                break
        return out

    return asyncio.run(run())


def test_simulated_source_yields_every_notification_in_order():
    sim = simulate_session(Protocol(reps=2), seed=2)
    source = SimulatedSource(sim, speed=float("inf"))
    assert isinstance(source, Source)
    assert collect(source) == sim.notifications
    assert source.markers == sim.markers


def test_simulated_source_paces_in_time():
    sim = simulate_session(Protocol(reps=2), seed=2)
    source = SimulatedSource(sim, speed=10.0)
    t0 = time.monotonic()
    notes = collect(source, limit=150)
    elapsed = time.monotonic() - t0
    # notifications up to host time T arrive no earlier than T / speed
    assert elapsed >= notes[-1].host_time / 10.0 - 0.01
