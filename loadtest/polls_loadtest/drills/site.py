"""What drills need to know about the polls site besides HTTP load: exports, the database, logs."""

import concurrent.futures
import json
import time
from dataclasses import dataclass

import requests

from polls_loadtest.load.scenarios import DEMO_PASSWORD, DEMO_USERNAME
from polls_loadtest.stack import Stack

# Demo accounts the drills use for their own requests; the load uses the first ones.
PROBE_ACCOUNT = 199


@dataclass
class Site:
    """The site under test: its compose stack, reached through the gateway on loopback."""

    stack: Stack

    def __post_init__(self) -> None:
        self.http = requests.Session()  # one keep-alive connection pool, like the load's users
        self._token: str | None = None

    def token(self, account: int = PROBE_ACCOUNT) -> str:
        if self._token is None:
            answer = self.http.post(
                f"{self.stack.target}/api/auth/token/",
                timeout=10,
                json={"username": DEMO_USERNAME.format(account), "password": DEMO_PASSWORD},
            )
            answer.raise_for_status()
            self._token = answer.json()["token"]
        return self._token

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token()}"}

    def sql(self, query: str, *, timeout: float = 30) -> list[list[str]]:
        """Run SQL in the postgres service with psql; return the rows as lists of text."""
        out = self.stack.exec(
            "postgres", "psql", "-U", "polls", "-d", "polls", "-AtF", "\t", "-c", query, timeout=timeout
        )
        return [line.split("\t") for line in out.splitlines() if line]

    def open_poll_ids(self, count: int) -> list[int]:
        rows = self.sql(
            "SELECT id FROM domain_poll WHERE closed_at IS NULL AND opens_at <= now() "
            f"AND closes_at > now() + interval '1 hour' ORDER BY id LIMIT {int(count)}"
        )
        return [int(r[0]) for r in rows]

    def request_exports(self, count: int, *, workers: int = 4) -> list[tuple[int, int | None]]:
        """POST `count` exports through the gateway; return (status, export id or None) for each."""
        polls = self.open_poll_ids(10) or [1]
        headers = self.auth()

        def one(i: int) -> tuple[int, int | None]:
            try:
                answer = self.http.post(
                    f"{self.stack.target}/api/exports/",
                    json={"poll_id": polls[i % len(polls)]},
                    headers=headers,
                    timeout=15,
                )
            except requests.RequestException:
                return 0, None
            body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
            return answer.status_code, body.get("id")

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(count)))

    def exports(self, ids: list[int]) -> dict[int, tuple[str, int]]:
        """Return {id: (status, attempts)} for the given exports, read from the database."""
        if not ids:
            return {}
        rows = self.sql(f"SELECT id, status, attempts FROM domain_resultexport WHERE id IN ({','.join(map(str, ids))})")
        return {int(i): (status, int(attempts)) for i, status, attempts in rows}

    def wait_exports(self, ids: list[int], *, timeout: float) -> dict[int, tuple[str, int]]:
        """Wait (bounded) until every export is done or failed; return their final states."""
        deadline = time.monotonic() + timeout
        while True:
            states = self.exports(ids)
            unfinished = [i for i, (status, _) in states.items() if status not in ("done", "failed")]
            if not unfinished or time.monotonic() > deadline:
                return states
            time.sleep(1)

    def logs(self, replica: str, *, since: float) -> list[dict]:
        """Return the JSON log lines a replica wrote since a Unix time."""
        lines = []
        for line in self.stack.logs(replica, since=since).splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    pass
        return lines
