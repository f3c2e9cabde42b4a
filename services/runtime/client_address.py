"""The address of the client that sent a request, as the gateway determined it.

Contract with the gateway (gateway/README.md): web and api are reached only through it, and it
sends an `X-Forwarded-For` whose right-most entry is the client address it took from the edge
(nginx realip, trusting forwarded headers only from the proxies it is told to trust). Entries to
the left of it may come from the client and are never believed. Every limit keyed on a client
address (API throttles, login lockouts, sign-up limit) uses this one function.
"""

import ipaddress

from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """Return the right-most X-Forwarded-For entry if it is an IP address, else REMOTE_ADDR.

    A value that is not an address (a client reaching the service directly with a made-up
    header) falls back to the peer address, so a forged string never becomes a fresh key.
    """
    meta = request.META
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        last = forwarded.rpartition(",")[2].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return meta.get("REMOTE_ADDR", "")
