"""Send one HTTP request and print the answer as JSON: the lab's second client.

Runs inside the lab's `client` container (standard library only), so the gateway sees it as
a client with its own address, apart from the host.

Usage: python3 probe.py METHOD URL HEADERS_JSON
"""

import json
import sys
import urllib.error
import urllib.request


def main(method: str, url: str, headers_json: str) -> None:
    """Print status, headers and body (text) of one request."""
    request = urllib.request.Request(
        url, method=method, headers=json.loads(headers_json), data=b"" if method == "POST" else None
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, headers, body = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read()
    print(
        json.dumps(
            {
                "status": status,
                "headers": {k.lower(): v for k, v in headers.items()},
                "body": body.decode(errors="replace"),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
