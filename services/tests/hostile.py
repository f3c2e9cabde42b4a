"""A battery of hostile requests over every route of web and api (tests/test_hostile_requests.py
runs it with Django's test client, tests/e2e/test_hostile_requests.py through the gateway).

Crafted input must end as a clear 4xx (or the 200/3xx a page gives for input it ignores), never a
5xx or a traceback: other scripts' digits, NUL bytes, 4 KB numbers, ids beyond PostgreSQL's bigint,
bad page and filter values, and methods no client should send.
"""

from dataclasses import dataclass, field
from urllib.parse import quote

from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.urls import get_resolver

# Hostile values for an id or other value in a path, already percent-encoded.
HOSTILE_PATH_VALUES = [
    quote("²"),  # str.isdigit() is true, int() fails
    quote("١٢"),  # Arabic-Indic digits: int() reads 12
    "9" * 4096,  # a 4 KB number
    str(2**63),  # one above bigint
    str(2**64),
    "0",
    "-1",
    "1%00",  # NUL
    quote("1 OR 1=1"),
]
# Bad page numbers and filter values (and the admin's list parameters), in one query string.
HOSTILE_QUERIES = [
    "page=%C2%B2&status=%C2%B2&p=%C2%B2&o=%C2%B2&q=%C2%B2&e=1",
    "page=" + "9" * 4096 + "&p=" + "9" * 4096 + "&status=" + "x" * 4096,
    "page=%D9%A1%D9%A2&p=-1&o=99&status=open%00",
    "page=0&status=&all=&_changelist_filters=page%3D%25C2%25B2",
    "page=1%00",
]
# Form fields of every form in the app, with values no form should accept (no NUL: see NUL_FORM).
HOSTILE_FORM = {
    "username": "١٢" * 2048,
    "password": "9" * 4096,
    "password1": "١٢",
    "password2": "9" * 4096,
    "choice": "²",
    "choice_id": "١٢",
    "poll_id": str(2**64),
    "question": "x" * 4096,
    "choices": "²",
    "closes_at": "9" * 4096,
    "page": "²",
    "status": "%",
}
NUL_FORM = {"username": "admin\x00", "password": "x\x00", "choice": "1\x00", "next": "/\x00"}
ODD_METHODS = ["BREW", "TRACE"]


@dataclass(frozen=True)
class Route:
    """A route of the URLconf, as a path with `{}` where its path values go."""

    template: str
    slots: int = 0
    logs_out: bool = False

    def url(self, value: str) -> str:
        return self.template.format(*[value] * self.slots)


@dataclass(frozen=True)
class Attempt:
    """One hostile request: method, path (with query), form body."""

    method: str
    path: str
    form: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method} {self.path[:160]}"


def every_route(urlconf: str) -> list[Route]:
    """Return every route of the URLconf; the ones that end the session come last."""
    routes = []
    for _view, regex, _namespace, _name in extract_views_from_urlpatterns(get_resolver(urlconf).url_patterns):
        path = simplify_regex(regex)
        parts = path.replace("{", "{{").replace("}", "}}").split("<")
        template, slots = parts[0], 0
        for part in parts[1:]:
            name, _, rest = part.partition(">")
            # The admin's per-app index takes an app label, not a value: keep it reachable.
            template += ("domain" if name == "app_label" else "{}") + rest
            slots += name != "app_label"
        routes.append(Route(template, slots, logs_out="logout" in path))
    return sorted(set(routes), key=lambda route: (route.logs_out, route.template))


def sweep(routes: list[Route], *, valid_ids: list[str]) -> list[Attempt]:
    """Return the hostile requests for every route.

    Valid ids are only read and sent odd methods and NUL bytes, which no view sees: a form posted
    to a real object could legitimately change it (the admin deletes on any POST to delete/).
    """
    attempts = []
    for route in routes:
        for value in valid_ids if route.slots else [""]:
            path = route.url(value)
            attempts += [Attempt("GET", path), Attempt("HEAD", path)]
            attempts += [Attempt("GET", f"{path}?{query}") for query in HOSTILE_QUERIES]
            attempts += [Attempt(method, path) for method in ODD_METHODS]
            attempts.append(Attempt("POST", path, NUL_FORM))
            if not route.slots:
                attempts.append(Attempt("POST", path, HOSTILE_FORM))
        for value in HOSTILE_PATH_VALUES if route.slots else []:
            path = route.url(value)
            attempts += [Attempt("GET", path), Attempt("POST", path, HOSTILE_FORM), Attempt("BREW", path)]
            attempts.append(Attempt("GET", f"{path}?{HOSTILE_QUERIES[0]}"))
    return attempts


def form_battery(*, poll_id: int, choice_id: int) -> list[Attempt]:
    """Return hostile submissions of each form: login, admin login, sign-up, vote, export, token.

    Besides plain bad ids, the poll's real choice id written the ways lax parsers accept (padded,
    signed, decimal, in other scripts' digits): a vote cast with one of them is a bug.
    """
    bad_ids = ["²", "9" * 4096, str(2**63), str(2**64), "-1", "0", "", "1e3", *_lookalikes(choice_id)]
    attempts = []
    for form in ("/accounts/login/", "/admin/login/", "/accounts/signup/", "/api/auth/token/"):
        attempts += [
            Attempt("POST", form, {"username": "١٢" * 2048, "password": "9" * 4096}),
            Attempt("POST", form, {"username": "", "password": ""}),
            Attempt("POST", form, {"username": "ab", "password1": "١٢", "password2": "9" * 4096}),
            Attempt("POST", form, NUL_FORM),
            Attempt("POST", form + "?next=%00", {"username": "a", "password": "b"}),
        ]
    for value in bad_ids:
        attempts += [
            Attempt("POST", f"/polls/{poll_id}/vote/", {"choice": value}),
            Attempt("POST", f"/api/polls/{poll_id}/vote/", {"choice_id": value}),
            Attempt("POST", "/api/exports/", {"poll_id": value}),
            Attempt("POST", f"/polls/{poll_id}/export/?page={quote(value)}", {"poll_id": value, "x": "\x00"}),
        ]
    attempts += [Attempt("POST", "/api/exports/", {"poll_id": value}) for value in _lookalikes(poll_id)]
    attempts.append(Attempt("POST", "/api/polls/", HOSTILE_FORM))
    return attempts


_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _lookalikes(real_id: int) -> list[str]:
    """Return a real id written the ways lax parsers accept: padded, signed, decimal, other digits."""
    real = str(real_id)
    return [f" {real}", f"{real} ", f"+{real}", f"{real}.0", real.translate(_ARABIC_INDIC), real + "\x00"]


def looks_broken(status: int, body: bytes) -> bool:
    """Return whether an answer is a server error or leaks a traceback."""
    return status >= 500 or b"Traceback" in body
