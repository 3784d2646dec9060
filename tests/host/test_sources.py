"""Sources share one interface and deliver the simulator's notifications unchanged."""

from __future__ import annotations

import asyncio

import pytest

from hipimu.core.types import Source
from hipimu.simulate import Protocol, simulate_session
from hipimu.sources.ble.vtime import run_virtual
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
    """On simulated time (no wall clock): each notification is handed over at its host
    time divided by the speed, not earlier and not later."""
    sim = simulate_session(Protocol(reps=2), seed=2)
    source = SimulatedSource(sim, speed=10.0)

    async def run():
        loop = asyncio.get_running_loop()
        start = loop.time()
        out = []
        async for note in source.stream():
            out.append((loop.time() - start, note))
            if len(out) >= 150:
                break
        return out

    got = run_virtual(run())
    assert [n for _, n in got] == sim.notifications[:150]
    for at, note in got:
        assert at == pytest.approx(max(note.host_time / 10.0, 0.0), abs=1e-9)
