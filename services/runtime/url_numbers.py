"""Numbers in URLs and query strings: ASCII digits only, of bounded length.

Python's str.isdigit and int() accept other scripts' digits ("²", "١٢") and any length, and
PostgreSQL's bigint stops at 2**63 - 1; crafted numbers must end as a 404 or 400, never as a 500
from deep inside a view or the database.
"""

import re

from django.urls import register_converter

BIGINT_MAX = 2**63 - 1  # the largest id a bigint primary key holds
ID_DIGITS = "[0-9]{1,19}"  # as many digits as BIGINT_MAX has
PAGE_MAX_DIGITS = 9  # a billion pages is far beyond any list here; longer is not a page number
_ID = re.compile(ID_DIGITS, re.ASCII)
_PAGE = re.compile(rf"[0-9]{{1,{PAGE_MAX_DIGITS}}}", re.ASCII)


class IdConverter:
    """Match a database id in a path, `<id:poll_id>`: 1 to 19 ASCII digits, within bigint."""

    regex = ID_DIGITS

    def to_python(self, value: str) -> int:
        number = id_number(value)
        if number is None:
            raise ValueError("not an id")  # Django's resolver treats it as no match: 404
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def id_number(text: str | None) -> int | None:
    """Return a database id given as ASCII digits (no sign, no spaces) within bigint, or None."""
    if text is None or not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if number <= BIGINT_MAX else None


def page_number(text: str | None) -> int | None:
    """Return a 1-based page number given as ASCII digits, or None when it is not one."""
    if text is None or not _PAGE.fullmatch(text):
        return None
    number = int(text)
    return number if number >= 1 else None


# Registered here, once per process, for both services' URLconfs (web.urls, api.urls).
register_converter(IdConverter, "id")
