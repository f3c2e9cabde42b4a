"""What the load client does: user journeys through the gateway.

A journey is a plain generator: it yields a `Request`, receives the `Response` and decides what to
do next, the way a user reads a page before clicking. It does no I/O itself ("sans-I/O"): the
open-loop client (`openloop.py`) sends each request in its scheduled slot, on this machine and in
the cluster's loadtest Job alike. Cookies are the client's job; the API token lives on the `Visitor`.

The data comes from `make seed`: users demo00000..demo00199 with one password, and polls whose
questions start with `[demo]`.
"""

import json
import math
import random
import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

DEMO_USERNAME = "demo{:05d}"
DEMO_PASSWORD = "polls-demo-password"  # the seed command's demo accounts (README, make seed)
DEMO_ACCOUNTS = 200  # make seed's default --users

API_PAGE_SIZE = 20  # the api's PAGE_SIZE (services/config/settings/parts/rest_api.py)
# An exporter gives up on an export that is still not done after this many status checks.
MAX_EXPORT_CHECKS = 300

_POLL_LINK = re.compile(r'href="/polls/(\d+)/"')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="(/static/[^"]+)"')
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_CHOICE_INPUT = re.compile(r'name="choice" value="(\d+)"')


@dataclass(frozen=True)
class Request:
    """One HTTP request a journey wants sent, and the statuses that mean it went as expected."""

    method: str
    path: str
    name: str  # the line it is counted under in the report, e.g. "web: poll detail"
    expect: frozenset[int] = frozenset({200})
    form: Mapping[str, str] | None = None  # sent as application/x-www-form-urlencoded
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    """What came back: the status, the headers (lower-case names) and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class JourneyError(Exception):
    """The site answered something a user could not go on from (no polls, a failed export...)."""


@dataclass
class Visitor:
    """One simulated user: an account, a random source, and what they remember between requests."""

    username: str
    password: str = DEMO_PASSWORD
    rng: random.Random = field(default_factory=random.Random)
    token: str | None = None
    api_pages: int = 1  # pages of open polls the API reported, so later lists pick a real page
    origin: str = ""  # the site's origin, sent as Origin on form posts (as browsers do)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"} if self.token else {}


Journey = Generator[Request, Response, None]


@dataclass(frozen=True)
class Scenario:
    """A kind of user: how they sign in once (may be None) and the journey they repeat."""

    name: str
    journey: Callable[[Visitor], Journey]
    login: Callable[[Visitor], Journey] | None = None


def web_login(visitor: Visitor) -> Journey:
    """Log in through the web login form, as a browser does (CSRF cookie and form field)."""
    form = yield Request("GET", "/accounts/login/", "web: login form")
    yield Request(
        "POST",
        "/accounts/login/",
        "web: log in",
        expect=frozenset({302}),  # a wrong password answers 200 with the form again
        form={
            "username": visitor.username,
            "password": visitor.password,
            "csrfmiddlewaretoken": _csrf_token(form),
            "next": "/",
        },
        headers=_form_headers(visitor),
    )


def api_login(visitor: Visitor) -> Journey:
    """Get an API token with the account's password (POST /api/auth/token/)."""
    answer = yield Request(
        "POST",
        "/api/auth/token/",
        "api: get token",
        json={"username": visitor.username, "password": visitor.password},
    )
    visitor.token = answer.json()["token"]


def browse(visitor: Visitor) -> Journey:
    """Open the home page and its stylesheet, open a poll, vote if the form is there, see results."""
    rng = visitor.rng
    page = "/" if rng.random() < 0.8 else f"/?page={rng.randint(1, 3)}"
    home = yield Request("GET", page, "web: home")
    polls = _POLL_LINK.findall(home.text)
    if not polls:
        raise JourneyError("the home page lists no open polls: run `make seed`")
    for stylesheet in _STYLESHEET.findall(home.text):
        yield Request("GET", stylesheet, "static: stylesheet")
    poll_id = rng.choice(polls)
    detail = yield Request("GET", f"/polls/{poll_id}/", "web: poll detail")
    choices = _CHOICE_INPUT.findall(detail.text)
    if choices:  # no form when the user has voted already or the poll has closed
        yield Request(
            "POST",
            f"/polls/{poll_id}/vote/",
            "web: vote",
            # 303 to the results; 409 if another request of the same user voted first, or the
            # poll closed since the page was shown: a correct answer, not a failure.
            expect=frozenset({303, 409}),
            form={"choice": rng.choice(choices), "csrfmiddlewaretoken": _csrf_token(detail)},
            headers=_form_headers(visitor),
        )
    yield Request("GET", f"/polls/{poll_id}/results/", "web: results")


def api_client(visitor: Visitor) -> Journey:
    """List open polls, read one, vote in it and read its results through the API."""
    rng = visitor.rng
    poll_id = yield from _an_open_poll(visitor)
    detail = yield Request("GET", f"/api/polls/{poll_id}/", "api: poll detail", headers=visitor.auth)
    poll = detail.json()
    if poll["is_open"] and poll["choices"]:
        yield Request(
            "POST",
            f"/api/polls/{poll_id}/vote/",
            "api: vote",
            expect=frozenset({201, 409}),  # 409: already voted in this poll, or it just closed
            json={"choice_id": rng.choice(poll["choices"])["id"]},
            headers=visitor.auth,
        )
    yield Request("GET", f"/api/polls/{poll_id}/results/", "api: results", headers=visitor.auth)


def api_reader(visitor: Visitor) -> Journey:
    """The API client's reads without signing in or voting: open polls, one of them, its results."""
    poll_id = yield from _an_open_poll(visitor)
    yield Request("GET", f"/api/polls/{poll_id}/", "api: poll detail")
    yield Request("GET", f"/api/polls/{poll_id}/results/", "api: results")


def _an_open_poll(visitor: Visitor) -> Generator[Request, Response, int]:
    """List a random page of open polls through the API; return the id of one of them."""
    listing = yield Request(
        "GET",
        f"/api/polls/?status=open&page={visitor.rng.randint(1, visitor.api_pages)}",
        "api: poll list",
        headers=visitor.auth,
    )
    data = listing.json()
    visitor.api_pages = max(1, min(5, math.ceil(data["count"] / API_PAGE_SIZE)))
    if not data["results"]:
        raise JourneyError("the API lists no open polls: run `make seed`")
    return visitor.rng.choice(data["results"])["id"]


def exporter(visitor: Visitor) -> Journey:
    """Start a CSV export of a poll's results, check its status until it is done, download it."""
    listing = yield Request("GET", "/api/polls/?status=open", "api: poll list", headers=visitor.auth)
    polls = listing.json()["results"]
    if not polls:
        raise JourneyError("the API lists no open polls: run `make seed`")
    started = yield Request(
        "POST",
        "/api/exports/",
        "api: export start",
        expect=frozenset({202}),
        json={"poll_id": visitor.rng.choice(polls)["id"]},
        headers=visitor.auth,
    )
    export_id = started.json()["id"]
    for _ in range(MAX_EXPORT_CHECKS):
        status = yield Request("GET", f"/api/exports/{export_id}/", "api: export status", headers=visitor.auth)
        state = status.json()
        if state["status"] == "done":
            break
        if state["status"] == "failed":
            raise JourneyError(f"export {export_id} failed: {state.get('error')}")
    else:
        raise JourneyError(f"export {export_id} not done after {MAX_EXPORT_CHECKS} status checks")
    yield Request("GET", f"/api/exports/{export_id}/download/", "api: export download", headers=visitor.auth)


def gateway_health(visitor: Visitor) -> Journey:
    """Ask the gateway's own /healthz: no application work, for calibrating the client itself."""
    yield Request("GET", "/healthz", "gateway: healthz")


SCENARIOS: dict[str, Scenario] = {
    "browse": Scenario("browse", browse, login=web_login),
    "api": Scenario("api", api_client, login=api_login),
    "reader": Scenario("reader", api_reader),
    "export": Scenario("export", exporter, login=api_login),
    "healthz": Scenario("healthz", gateway_health),
}


def parse_mix(text: str) -> dict[str, int]:
    """Return {scenario: weight} from "browse:6,api:3,export:1"; a name alone weighs 1."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition(":")
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
        mix[name] = int(weight or 1)
        if mix[name] < 0:
            raise ValueError(f"negative weight for {name!r}")
    mix = {name: weight for name, weight in mix.items() if weight > 0}
    if not mix:
        raise ValueError(f"empty scenario mix {text!r}")
    return mix


def split(total: int, mix: Mapping[str, int]) -> dict[str, int]:
    """Share `total` among the scenarios by weight (largest remainder), at least 1 each."""
    weights = sum(mix.values())
    exact = {name: total * weight / weights for name, weight in mix.items()}
    shares = {name: int(value) for name, value in exact.items()}
    for name in sorted(exact, key=lambda n: exact[n] - shares[n], reverse=True)[: total - sum(shares.values())]:
        shares[name] += 1
    return {name: max(1, share) for name, share in shares.items()}


def _csrf_token(page: Response) -> str:
    match = _CSRF_FIELD.search(page.text)
    if not match:
        raise JourneyError("no CSRF token in the form page")
    return match.group(1)


def _form_headers(visitor: Visitor) -> dict[str, str]:
    # Browsers send Origin with every form POST; Django accepts it when it matches the site.
    return {"Origin": visitor.origin} if visitor.origin else {}
