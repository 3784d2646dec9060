"""From notifications to per-sensor timelines on the host clock, and a common grid.

Each sensor counts time on its own crystal (a wrapping ``u32`` of microseconds) and
numbers its notifications (a wrapping ``u16``). :class:`SessionAssembler` decodes the
notifications and files each sensor's packets in its :class:`~hipimu.stream.sensor.SensorStream`
(the stream core the live view and the BLE link use too): it unwraps both counters,
drops duplicates, restores order, notes lost notifications, gaps and reboots, and fits a
:class:`ClockModel` (offset and drift) from device time to host time using the
arrival times: arrival = sample time + latency, where latency is positive and its
lower edge is nearly constant, so the model follows the lower envelope of the points.
When the source also delivers time-sync round trips (``TIME_PING``/echo on the control
characteristic, :meth:`SessionAssembler.add_sync`), the model is fitted to those instead:
each round trip bounds the moment the sensor read its clock, and the line runs halfway
between the tightest bounds (:meth:`ClockModel.fit_sync`, docs/ble.md "Time sync").
:func:`resample` then puts all sensors on one uniform host-time grid by slerp.

The parts live in :mod:`hipimu.stream.unwrap`, :mod:`~hipimu.stream.clock`,
:mod:`~hipimu.stream.segments`, :mod:`~hipimu.stream.sensor`,
:mod:`~hipimu.stream.timeline` and :mod:`~hipimu.stream.resample`; their public names
are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from hipimu.core.batch import NotificationBatch
from hipimu.core.types import Notification
from hipimu.stream.clock import MIN_SYNC_SPAN_S, ClockModel, SyncPoint
from hipimu.stream.resample import AlignedSamples, resample
from hipimu.stream.segments import RESTART_S, Segment
from hipimu.stream.sensor import SensorStream
from hipimu.stream.timeline import SensorTimeline
from hipimu.stream.unwrap import U16, U32, unwrap_near
from hipimu.wire.protocol import Decoder, Packet, role_name

__all__ = [
    "MIN_SYNC_SPAN_S",
    "RESTART_S",
    "U16",
    "U32",
    "AlignedSamples",
    "ClockModel",
    "Segment",
    "SensorStream",
    "SensorTimeline",
    "SessionAssembler",
    "SyncPoint",
    "resample",
    "unwrap_near",
]

#: :meth:`SessionAssembler.extend` decodes at least this many notifications at once
BATCH_MIN = 64


class SessionAssembler:
    """Collects notifications of any number of sensors and builds their timelines.

    A sensor is keyed by its address; its role comes from its packets. Two sensors
    claiming one role is an error at :meth:`timelines`, naming both addresses.
    """

    def __init__(self) -> None:
        self.decoder = Decoder()
        self.streams: dict[str, SensorStream] = {}
        self.rejected_by_sensor: dict[str, int] = {}

    def stream(self, sensor: str) -> SensorStream:
        """The stream core of ``sensor`` (made on first use)."""
        st = self.streams.get(sensor)
        if st is None:
            st = self.streams[sensor] = SensorStream(sensor)
        return st

    def add(self, note: Notification) -> Packet | None:
        """Decode and file one notification; a malformed one is counted, not raised."""
        pkt = self.decoder.decode(note.payload)
        if pkt is None:
            self.rejected_by_sensor[note.sensor] = self.rejected_by_sensor.get(note.sensor, 0) + 1
            return None
        self.stream(note.sensor).push(note.host_time, pkt)
        return pkt

    def extend(self, notes: Iterable[Notification]) -> None:
        """File many notifications: decoded together (:func:`hipimu.wire.protocol.decode_batch`)
        and filed per sensor at once, with the same result as :meth:`add` one by one."""
        if isinstance(notes, NotificationBatch) and len(notes) >= BATCH_MIN:
            # a session log's arrays: no Notification objects on the way
            hosts = notes.host_time
            # sensors in order of their first notification, as below (the streams' order)
            present, first = np.unique(notes.code, return_index=True)
            names = list(dict.fromkeys(notes.sensors[c] for c in present[np.argsort(first)]))
            to_name = {name: k for k, name in enumerate(names)}
            recode = np.array([to_name.get(name, -1) for name in notes.sensors], dtype=np.int64)
            codes = recode[notes.code]

            def decode(rows: np.ndarray):
                return self.decoder.decode_batch_buffer(
                    notes.data, notes.start[rows], notes.stop[rows]
                )
        else:
            notes = list(notes)
            if len(notes) < BATCH_MIN:
                for note in notes:
                    self.add(note)
                return
            sensors = [n.sensor for n in notes]
            payloads = [n.payload for n in notes]
            hosts = np.fromiter((n.host_time for n in notes), dtype=np.float64, count=len(notes))
            names = list(dict.fromkeys(sensors))
            codes = None
            if len(names) > 1:
                code = {name: k for k, name in enumerate(names)}
                codes = np.fromiter(
                    map(code.__getitem__, sensors), dtype=np.int64, count=len(notes)
                )

            def decode(rows: np.ndarray | None):
                mine = payloads if rows is None else [payloads[i] for i in rows.tolist()]
                return self.decoder.decode_batch(mine)

        for k, sensor in enumerate(names):  # one sensor at a time: less memory
            if codes is None:
                rows, host = None, hosts
            else:
                rows = np.flatnonzero(codes == k)
                host = hosts[rows]
            batches, rejected = decode(rows)
            if rejected:
                self.rejected_by_sensor[sensor] = self.rejected_by_sensor.get(sensor, 0) + len(
                    rejected
                )
            if not batches:
                continue
            stream = self.stream(sensor)
            if len(batches) == 1:
                batch = next(iter(batches.values()))
                stream.push_batch(host[batch.index], batch)
                continue
            # the sensor changed content mid-stream: packet by packet, in arrival order
            order = sorted(
                (int(i), c, j) for c, b in batches.items() for j, i in enumerate(b.index)
            )
            for i, c, j in order:
                stream.push(float(host[i]), batches[c].packet(j))

    def add_sync(self, sensor: str, send: float, recv: float, device_us: int) -> SyncPoint:
        """File one time-sync round trip of ``sensor`` (its u32 clock ``device_us`` read
        between host times ``send`` and ``recv``); returns it with the clock unwrapped.

        Raises ``ValueError`` if ``recv`` precedes ``send``.
        """
        return self.stream(sensor).add_sync(send, recv, device_us)

    def add_event(self, event: dict) -> bool:
        """File a session-log event the assembler understands (``time_sync``: keys
        ``sensor``, ``send``, ``recv``, ``device_us``); returns whether it was used."""
        if event.get("type") != "time_sync":
            return False
        self.add_sync(event["sensor"], event["send"], event["recv"], event["device_us"])
        return True

    @property
    def sensors(self) -> dict[str, str]:
        """Address -> role name of every sensor heard so far."""
        return {
            addr: role_name(st.role) for addr, st in self.streams.items() if st.role is not None
        }

    def timelines(self, drop_samples: bool = False) -> dict[str, SensorTimeline]:
        """One timeline per role. Raises ``ValueError`` if two sensors share a role.
        ``drop_samples``: the streams forget their samples once the timelines hold them
        (offline analysis: a second copy of a session's samples, until the end)."""
        by_role: dict[str, SensorTimeline] = {}
        for addr, st in self.streams.items():
            if not st.packets:
                continue
            timeline = st.timeline()
            if drop_samples:
                st.drop_samples()
            if timeline.role in by_role:
                other = by_role[timeline.role].sensor
                raise ValueError(f"sensors {other} and {addr} both report role {timeline.role}")
            by_role[timeline.role] = timeline
        return by_role
