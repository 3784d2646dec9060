# Minimal type stub for the aioble subset the firmware uses (micropython-lib aioble;
# installed on the device with `mpremote mip install aioble`, not part of the port stubs).
from typing import Any

from . import security as security

class Service:
    def __init__(self, uuid: Any) -> None: ...

class DeviceConnection:
    mtu: int | None
    encrypted: bool
    authenticated: bool
    bonded: bool
    def is_connected(self) -> bool: ...
    async def disconnected(self, timeout_ms: int | None = ..., disconnect: bool = ...) -> None: ...
    async def disconnect(self, timeout_ms: int = ...) -> None: ...
    async def exchange_mtu(self, mtu: int | None = ..., timeout_ms: int = ...) -> int: ...
    async def pair(
        self,
        bond: bool = ...,
        le_secure: bool = ...,
        mitm: bool = ...,
        io: int = ...,
        timeout_ms: int | None = ...,
    ) -> None: ...

class Characteristic:
    def __init__(
        self,
        service: Service,
        uuid: Any,
        read: bool = ...,
        write: bool = ...,
        write_no_response: bool = ...,
        notify: bool = ...,
        indicate: bool = ...,
        initial: Any = ...,
        capture: bool = ...,
    ) -> None: ...
    def notify(self, connection: DeviceConnection, data: Any = ...) -> None: ...
    def write(self, data: Any, send_update: bool = ...) -> None: ...
    def read(self) -> bytes: ...
    async def written(self, timeout_ms: int | None = ...) -> Any: ...

def register_services(*services: Service) -> Any: ...
async def advertise(
    interval_us: int,
    adv_data: Any = ...,
    resp_data: Any = ...,
    connect: bool = ...,
    limit_ms: int | None = ...,
    name: str | None = ...,
    services: Any = ...,
    appearance: int = ...,
    manufacturer: Any = ...,
    timeout_ms: int | None = ...,
) -> DeviceConnection: ...
