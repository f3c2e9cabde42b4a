"""Hold many uploads open at once, each body trickled in small pieces, and watch the gateway.

Used by test_resource_bounds.py. Bounded: every connection sends at most one declared body,
every wait has a timeout, and the whole flood stops at its deadline.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from gatewaylab import Gateway


@dataclass
class FloodReport:
    """What the uploads got, what other clients saw meanwhile, and the gateway's memory."""

    upload_statuses: dict[int | str, int] = field(default_factory=dict)
    other_statuses: list[int | str] = field(default_factory=list)
    other_slowest_s: float = 0.0
    memory_samples: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _count(statuses: dict, key: int | str) -> None:
    statuses[key] = statuses.get(key, 0) + 1


async def open_upload(ip: str, path: str, length: int, headers: dict[str, str]):
    """Open a connection and send the headers of a POST declaring `length` body bytes."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, 8080), 10)
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {ip}",
        f"Content-Length: {length}",
        "Content-Type: application/octet-stream",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def read_status(reader: asyncio.StreamReader, timeout: float) -> int | str:
    """Return the status code of the answer, or why there was none."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except TimeoutError:
        return "no answer"
    except OSError:
        return "reset"
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else "closed"


async def _upload(
    gateway: Gateway, number: int, length: int, piece: int, pause: float, deadline: float, statuses: dict
) -> None:
    try:
        reader, writer = await open_upload(
            gateway.ip, f"/api/uploads/?n={number}", length, {"X-Forwarded-For": f"10.{number // 250}.{number % 250}.1"}
        )
    except (OSError, TimeoutError):
        _count(statuses, "connect failed")
        return
    sent = 0
    try:
        while sent < length and time.monotonic() < deadline:
            size = min(piece, length - sent)
            writer.write(b"x" * size)
            await asyncio.wait_for(writer.drain(), 10)
            sent += size
            if sent < length:
                await asyncio.sleep(pause)
    except (OSError, TimeoutError):
        pass  # the gateway answered early (e.g. 503) and closed: read that answer below
    _count(statuses, await read_status(reader, max(1.0, deadline - time.monotonic())))
    writer.close()


async def _other_client(gateway: Gateway, stop: asyncio.Event, report: FloodReport) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            answer = await asyncio.to_thread(
                gateway.request, "GET", "/polls/", {"X-Forwarded-For": "192.0.2.200"}, None, 5
            )
            report.other_statuses.append(answer.status)
        except OSError as error:
            report.other_statuses.append(type(error).__name__)
        report.other_slowest_s = max(report.other_slowest_s, time.monotonic() - started)
        await asyncio.sleep(0.5)


async def _memory(gateway: Gateway, stop: asyncio.Event, report: FloodReport) -> None:
    while not stop.is_set():
        usage = (await asyncio.to_thread(gateway.memory))["usage"]
        if usage is not None:
            report.memory_samples.append(usage)
        await asyncio.sleep(1.0)


async def _flood(gateway: Gateway, uploads: int, length: int, piece: int, pause: float, seconds: float) -> FloodReport:
    report = FloodReport()
    started = time.monotonic()
    deadline = started + seconds
    stop = asyncio.Event()
    watchers = [
        asyncio.create_task(_other_client(gateway, stop, report)),
        asyncio.create_task(_memory(gateway, stop, report)),
    ]
    await asyncio.gather(
        *(_upload(gateway, n, length, piece, pause, deadline, report.upload_statuses) for n in range(uploads))
    )
    stop.set()
    await asyncio.gather(*watchers)
    report.seconds = time.monotonic() - started
    return report


def flood(gateway: Gateway, *, uploads: int, length: int, piece: int, pause: float, seconds: float) -> FloodReport:
    """Run `uploads` concurrent uploads of `length` bytes sent `piece` bytes every `pause`
    seconds, each from its own client address (X-Forwarded-For through a trusted peer), while
    another client GETs a page every 0.5 s; stop sending at `seconds`."""
    return asyncio.run(_flood(gateway, uploads, length, piece, pause, seconds))
