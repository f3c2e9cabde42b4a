"""Open-loop load: requests sent on a fixed schedule, latency counted from the scheduled time.

Slot i is due at start + i/rate (or at Poisson arrivals) whatever happened before, and its latency
runs from that due time, so a stall counts for every user who arrived during it, not only for the
few requests in flight ("coordinated omission"). Like wrk2, each simulated user (`Visitor`) keeps
one keep-alive connection; a due slot goes to the next free user of its scenario or waits in the
scenario's queue. Why, and the API the bench and the drills use: loadtest/README.md ("Why open
loop", "Using the client from other tools").
"""

import asyncio
import itertools
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import aiohttp

from polls_loadtest.load.recorder import Event, Recorder, histogram_summary, percentile
from polls_loadtest.load.scenarios import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    SCENARIOS,
    JourneyError,
    Request,
    Response,
    Scenario,
    Visitor,
    split,
)

RESULTS_SCHEMA = 1


@dataclass(frozen=True)
class LoadSettings:
    """What to run. Every loop it implies is bounded: rate x duration slots, then `drain` seconds."""

    target: str = "http://127.0.0.1:8080"
    rate: float = 50.0  # requests per second, all scenarios together
    duration: float = 60.0  # seconds of schedule
    users: int = 20  # simulated users = keep-alive connections, shared among scenarios by weight
    mix: Mapping[str, int] = field(default_factory=lambda: {"browse": 6, "api": 3, "export": 1})
    timeout: float = 10.0  # per request, from the moment it is sent
    drain: float | None = None  # seconds to finish the backlog after the schedule (default timeout + 5)
    arrival: str = "uniform"  # "uniform" (fixed interval, as wrk2) or "poisson"
    seed: int = 1
    first_account: int = 0  # demo account of the first user
    accounts: int = DEMO_ACCOUNTS  # demo accounts that exist; users beyond this share them
    password: str = DEMO_PASSWORD
    login_concurrency: int = 4  # logins at a time: password hashing is slow on purpose

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.duration <= 0 or self.users < 1:
            raise ValueError("rate and duration must be positive and users at least 1")
        if self.arrival not in ("uniform", "poisson"):
            raise ValueError(f"arrival must be uniform or poisson, not {self.arrival!r}")
        unknown = set(self.mix) - set(SCENARIOS)
        if unknown:
            raise ValueError(f"unknown scenarios: {', '.join(sorted(unknown))}")


class SetupError(Exception):
    """The users could not sign in, so no load was sent (wrong target, no seeded data...)."""


class _Player:
    """One simulated user's connection and place in its journey."""

    def __init__(self, scenario: Scenario, visitor: Visitor, session: aiohttp.ClientSession) -> None:
        self.scenario, self.visitor, self.session = scenario, visitor, session
        self._journey = None
        self._pending: Request | None = None

    def next_request(self) -> Request:
        if self._pending is None:
            self._journey = self.scenario.journey(self.visitor)
            self._pending = next(self._journey)
        return self._pending

    def feed(self, response: Response) -> None:
        """Hand the answer to the journey; it raises JourneyError if the user cannot go on."""
        try:
            self._pending = self._journey.send(response)
        except StopIteration:
            self._pending = None

    def restart(self) -> None:
        if self._journey is not None:
            self._journey.close()
        self._journey, self._pending = None, None


class OpenLoopRun:
    """One open-loop run: sign the users in, send the schedule, return the figures as a dict."""

    def __init__(
        self,
        settings: LoadSettings,
        *,
        progress: Callable[[dict], None] | None = None,  # called with a snapshot every second
        scenarios: Mapping[str, Scenario] = SCENARIOS,
        recorder: Recorder | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self.scenarios = scenarios
        self.recorder = recorder or Recorder()  # the drills pass Recorder(keep_events=True)
        self.started = threading.Event()  # set when the users have signed in and the schedule begins
        self._marks: list[tuple[float, str]] = []  # (time.monotonic(), label)
        self._start: float | None = None
        self._thread: threading.Thread | None = None
        self._result: dict | None = None
        self._error: BaseException | None = None
        self._connections = 0
        self._lags: list[float] = []

    def mark(self, label: str) -> None:
        """Put a labelled marker (a fault, a scale-out...) on the timeline now; thread-safe."""
        self._marks.append((time.monotonic(), label))  # list.append is atomic under the GIL

    def run(self) -> dict:
        """Run to the end in this thread and return the results."""
        return asyncio.run(self.run_async())

    def start(self) -> None:
        """Run in a background thread; call wait() for the results."""

        def target() -> None:
            try:
                self._result = self.run()
            except BaseException as error:  # handed to wait()
                self._error = error

        self._thread = threading.Thread(target=target, name="open-loop-load", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> dict:
        """Wait for a run begun with start() (by default its schedule, drain and a minute more)."""
        s = self.settings
        limit = timeout if timeout is not None else s.duration + self._drain() + 60 + 5 * s.users
        self._thread.join(limit)
        if self._thread.is_alive():
            raise TimeoutError(f"the load run did not end within {limit:.0f} s")
        if self._error is not None:
            raise self._error
        return self._result

    def wait_started(self, timeout: float) -> bool:
        """Wait until the schedule begins; return False if the run ended first or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while not self.started.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                return self.started.is_set()
        return True

    @property
    def elapsed(self) -> float:
        """Seconds since the schedule started (0 before)."""
        return 0.0 if self._start is None else time.monotonic() - self._start

    async def run_async(self) -> dict:
        s = self.settings
        started_at = datetime.now(UTC)
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(self._count_connection)
        players = self._players(trace)
        try:
            setup_started = time.monotonic()
            await self._sign_in(players)
            setup_seconds = time.monotonic() - setup_started
            queues = {name: asyncio.Queue() for name in s.mix}
            cpu_before, wall_before = time.process_time(), time.monotonic()
            self._start = time.monotonic() + 0.05
            self.started.set()
            workers = [asyncio.create_task(self._play(p, queues[p.scenario.name])) for p in players]
            reporter = asyncio.create_task(self._report_progress(queues)) if self.progress else None
            await self._schedule(queues)
            for player in players:  # one stop sign per worker, behind the backlog
                queues[player.scenario.name].put_nowait(None)
            done, pending = await asyncio.wait(workers, timeout=self._drain())
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self._abandon(queues)
            if reporter:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
                self.progress(self._snapshot(queues, final=True))
            cpu = time.process_time() - cpu_before
            wall = time.monotonic() - wall_before
        finally:
            await asyncio.gather(*(p.session.close() for p in players), return_exceptions=True)
        return self._results(started_at, setup_seconds, cpu, wall, len(players))

    def _players(self, trace: aiohttp.TraceConfig) -> list[_Player]:
        s = self.settings
        rng = random.Random(s.seed)
        origin = s.target.rstrip("/")
        players, number = [], itertools.count()
        for name, count in split(s.users, s.mix).items():
            for _ in range(count):
                username = DEMO_USERNAME.format(s.first_account + next(number) % s.accounts)
                visitor = Visitor(username, s.password, rng=random.Random(rng.random()), origin=origin)
                session = aiohttp.ClientSession(
                    base_url=origin,
                    # One connection per user, kept alive; cookies on IP hosts need unsafe=True.
                    connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=30),
                    cookie_jar=aiohttp.CookieJar(unsafe=True),
                    timeout=aiohttp.ClientTimeout(total=None),
                    trace_configs=[trace],
                )
                players.append(_Player(self.scenarios[name], visitor, session))
        return players

    async def _sign_in(self, players: list[_Player]) -> None:
        gate = asyncio.Semaphore(self.settings.login_concurrency)

        async def sign_in(player: _Player) -> None:
            if player.scenario.login is None:
                return
            async with gate:
                journey = player.scenario.login(player.visitor)
                request = next(journey)
                while True:
                    try:
                        response = await self._send(player.session, request)
                    except (TimeoutError, aiohttp.ClientError) as error:
                        raise SetupError(f"{request.name} as {player.visitor.username}: {error!r}") from error
                    if response.status not in request.expect:
                        raise SetupError(
                            f"{request.name} as {player.visitor.username} answered {response.status}"
                            " (is the target right, and has `make seed` run?)"
                        )
                    try:
                        request = journey.send(response)
                    except StopIteration:
                        return

        await asyncio.gather(*(sign_in(p) for p in players))

    async def _schedule(self, queues: dict[str, asyncio.Queue]) -> None:
        s = self.settings
        rng = random.Random(s.seed + 1)
        credit = dict.fromkeys(s.mix, 0)
        total_weight = sum(s.mix.values())
        count = max(1, round(s.rate * s.duration))
        due = 0.0
        for i in range(count):
            due = i / s.rate if s.arrival == "uniform" else due + rng.expovariate(s.rate)
            if due >= s.duration:
                break
            delay = self._start + due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            # How late the slot leaves the scheduler: large lags mean the client itself is short of CPU.
            self._lags.append(max(0.0, time.monotonic() - self._start - due))
            # Smooth weighted round robin: the mix is exact over any few slots, not just on average.
            for name in credit:
                credit[name] += s.mix[name]
            scenario = max(credit, key=credit.__getitem__)
            credit[scenario] -= total_weight
            self.recorder.count("scheduled", due)
            queues[scenario].put_nowait(due)  # seconds since the start of the schedule

    async def _play(self, player: _Player, queue: asyncio.Queue) -> None:
        recorder, name = self.recorder, player.scenario.name
        while True:
            due = await queue.get()
            if due is None:
                return
            request = player.next_request()
            sent = time.monotonic() - self._start
            recorder.count("sent", sent)
            status, reason = None, ""
            try:
                response = await self._send(player.session, request)
                status = response.status
                if status not in request.expect:
                    reason = f"status {status}"
                else:
                    player.feed(response)
            except TimeoutError:
                reason = f"timeout after {self.settings.timeout:g} s"
            except aiohttp.ClientError as error:
                reason = f"connection: {type(error).__name__}"
            except JourneyError as error:
                reason = f"journey: {error}"
            except (ValueError, KeyError, TypeError) as error:  # an answer the journey could not read
                reason = f"bad answer: {type(error).__name__}"
            except BaseException as error:  # cancelled when the drain time ran out, or a bug: count it, then end
                reason = "cancelled at the end" if isinstance(error, asyncio.CancelledError) else repr(error)
                raise
            finally:
                if reason:
                    player.restart()  # the journey's state is unreliable now: start a fresh one
                done = time.monotonic() - self._start
                recorder.done(Event(due, sent, done, request.name, status, ok=not reason, reason=reason, scenario=name))

    async def _send(self, session: aiohttp.ClientSession, request: Request) -> Response:
        async with asyncio.timeout(self.settings.timeout):
            async with session.request(
                request.method,
                request.path,
                data=request.form,
                json=request.json,
                headers=request.headers,
                allow_redirects=False,
            ) as answer:
                body = await answer.read()
        return Response(answer.status, {k.lower(): v for k, v in answer.headers.items()}, body)

    def _abandon(self, queues: dict[str, asyncio.Queue]) -> None:
        """Count slots still queued when the drain time ran out as failed: users never got an answer."""
        end = time.monotonic() - self._start
        for name, queue in queues.items():
            while not queue.empty():
                due = queue.get_nowait()
                if due is not None:
                    reason = "never sent: client backlog at the end"
                    self.recorder.done(
                        Event(due, None, end, "(never sent)", None, ok=False, reason=reason, scenario=name)
                    )

    async def _report_progress(self, queues: dict[str, asyncio.Queue]) -> None:
        while True:
            await asyncio.sleep(1)
            self.progress(self._snapshot(queues))

    def _snapshot(self, queues: dict[str, asyncio.Queue], *, final: bool = False) -> dict:
        totals = self.recorder.totals
        window = self.recorder.take_window()
        queued = sum(q.qsize() for q in queues.values())
        return {
            "elapsed": round(self.elapsed, 1),
            **{count: totals[count] for count in ("scheduled", "sent", "ok", "failed")},
            "in_flight": totals["sent"] - totals["ok"] - totals["failed"],
            "queued": queued,
            "window_count": len(window),
            "window_p50_ms": percentile(window, 50),
            "window_p99_ms": percentile(window, 99),
            "final": final,
        }

    def _drain(self) -> float:
        return self.settings.drain if self.settings.drain is not None else self.settings.timeout + 5

    async def _count_connection(self, *_args) -> None:
        self._connections += 1

    def _results(self, started_at: datetime, setup_seconds: float, cpu: float, wall: float, users: int) -> dict:
        r, s = self.recorder, self.settings
        lags = sorted(self._lags)
        marks = [{"t": round(at - self._start, 3), "label": label} for at, label in self._marks]
        return {
            "schema": RESULTS_SCHEMA,
            "tool": "polls_loadtest.load.openloop",
            "started_at": started_at.isoformat(timespec="seconds"),
            "settings": {**asdict(s), "mix": dict(s.mix), "password": "(demo password)"},
            "summary": {
                **{count: r.totals[count] for count in ("scheduled", "sent", "ok", "failed")},
                "error_rate": round(r.totals["failed"] / max(1, r.totals["scheduled"]), 6),
                "achieved_rate": round(r.totals["ok"] / s.duration, 2),
                # From the scheduled send time (what users saw) and from the actual send time
                # (what a closed-loop tool would report): the gap is time spent queued in the client.
                "latency_ms": histogram_summary(r.latency),
                "service_time_ms": histogram_summary(r.service_time),
            },
            "by_scenario": {name: t.summary() for name, t in sorted(r.by_scenario.items())},
            "by_request": {name: t.summary() for name, t in sorted(r.by_request.items())},
            "status_codes": dict(sorted(r.status_codes.items())),
            "errors": [
                {"request": request, "reason": reason, "count": count}
                for (request, reason), count in r.errors.most_common(50)
            ],
            "client": {
                "users": users,
                "connections_opened": self._connections,
                "setup_seconds": round(setup_seconds, 2),
                "wall_seconds": round(wall, 2),
                "cpu_seconds": round(cpu, 2),
                "cpu_percent_of_one_core": round(100 * cpu / max(wall, 1e-9), 1),
                "late_slots": sum(lag > 0.005 for lag in lags),  # dispatched over 5 ms late
                "max_schedule_lag_ms": round(1000 * lags[-1], 2) if lags else 0.0,
                "p99_schedule_lag_ms": round(1000 * percentile(lags, 99), 2) if lags else 0.0,
                "python": sys.version.split()[0],
            },
            "marks": marks,
            "timeline": {"bucket_seconds": r.bucket_seconds, **r.timeline()},
            "per_second": r.timeline(every=round(1 / r.bucket_seconds)),
            "histograms": {  # HdrHistogram's compressed base64 form, microseconds
                "latency_us": r.latency.encode().decode("ascii"),
                "service_time_us": r.service_time.encode().decode("ascii"),
            },
        }
