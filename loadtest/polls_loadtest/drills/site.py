"""What drills need to know about the polls site besides HTTP load: its exports and its JSON logs."""

import concurrent.futures
import contextlib
import json
import time
from dataclasses import dataclass

import requests

from polls_loadtest.load.scenarios import DEMO_PASSWORD, DEMO_USERNAME
from polls_loadtest.stack import Stack

# The demo account the drills use for their own requests; the load uses the first ones.
PROBE_ACCOUNT = 199
OPEN_POLLS = "closed_at IS NULL AND opens_at <= now() AND closes_at > now() + interval '1 hour'"


@dataclass
class Site:
    """The site under test: its compose stack, reached through the gateway on loopback."""

    stack: Stack

    def __post_init__(self) -> None:
        self.http = requests.Session()  # one keep-alive connection pool, like the load's users
        self._token: str | None = None

    def token(self) -> str:
        """Return the probe account's API token (signed in once)."""
        if self._token is None:
            account = {"username": DEMO_USERNAME.format(PROBE_ACCOUNT), "password": DEMO_PASSWORD}
            answer = self.http.post(f"{self.stack.target}/api/auth/token/", timeout=10, json=account)
            answer.raise_for_status()
            self._token = answer.json()["token"]
        return self._token

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token()}"}

    def request_exports(self, count: int, *, workers: int = 4) -> list[tuple[int, int | None]]:
        """POST `count` exports through the gateway; return (status, export id or None) for each."""
        rows = self.stack.sql(f"SELECT id FROM domain_poll WHERE {OPEN_POLLS} ORDER BY id LIMIT 10")
        polls, headers = [int(poll_id) for (poll_id,) in rows] or [1], self.auth()

        def one(i: int) -> tuple[int, int | None]:
            body = {"poll_id": polls[i % len(polls)]}
            try:
                answer = self.http.post(f"{self.stack.target}/api/exports/", json=body, headers=headers, timeout=15)
            except requests.RequestException:
                return 0, None
            body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
            return answer.status_code, body.get("id")

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(count)))

    def last_export_id(self) -> int:
        return int(self.stack.sql("SELECT coalesce(max(id), 0) FROM domain_resultexport")[0][0])

    def export_ids_after(self, last_id: int) -> list[int]:
        return [int(i) for (i,) in self.stack.sql(f"SELECT id FROM domain_resultexport WHERE id > {int(last_id)}")]

    def wait_exports(self, ids: list[int], *, timeout: float) -> dict[int, tuple[str, int]]:
        """Wait (bounded) until every export is done or failed; return {id: (status, attempts)}."""
        query = f"SELECT id, status, attempts FROM domain_resultexport WHERE id IN ({','.join(map(str, ids))})"
        deadline = time.monotonic() + timeout
        while True:
            states = {int(i): (status, int(attempts)) for i, status, attempts in self.stack.sql(query)} if ids else {}
            if all(status in ("done", "failed") for status, _ in states.values()) or time.monotonic() > deadline:
                return states
            time.sleep(1)

    def logs(self, replica: str, *, since: float) -> list[dict]:
        """Return the JSON log lines a replica wrote since a Unix time (other lines left out)."""
        lines = []
        for line in self.stack.logs(replica, since=since).splitlines():
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    lines.append(json.loads(line))
        return lines
