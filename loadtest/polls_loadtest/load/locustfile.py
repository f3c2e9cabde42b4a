"""Locust user journeys: the same scenarios as the open-loop client, closed loop with think time.

Locust shows how many *users* the site carries doing whole journeys; the open-loop client
(openloop.py) measures latency at a fixed request rate. `make loadtest-locust` runs this file:

    locust -f loadtest/polls_loadtest/load/locustfile.py --headless -H http://127.0.0.1:8080 -u 20 -r 5 -t 60s

LOADTEST_MIX sets the weights of the user classes (default browse:6,api:3,export:1).
"""

import itertools
import os
import random
from urllib.parse import urlencode

from locust import FastHttpUser, between, task
from locust.exception import StopUser

from polls_loadtest.load.scenarios import (
    DEMO_ACCOUNTS,
    DEMO_USERNAME,
    SCENARIOS,
    JourneyError,
    Response,
    Visitor,
    parse_mix,
)

MIX = parse_mix(os.environ.get("LOADTEST_MIX", "browse:6,api:3,export:1"))
_accounts = itertools.count()


class JourneyUser(FastHttpUser):
    """Sign in once, then repeat the scenario's journey with a pause between journeys."""

    abstract = True
    scenario = ""
    wait_time = between(1, 3)  # seconds a person spends reading between journeys
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        account = next(_accounts) % DEMO_ACCOUNTS
        self.visitor = Visitor(
            username=DEMO_USERNAME.format(account), rng=random.Random(account), origin=self.host.rstrip("/")
        )
        login = SCENARIOS[self.scenario].login
        if login is not None and not self._drive(login(self.visitor)):
            raise StopUser()  # counted as a failure in the stats already

    @task
    def journey(self) -> None:
        self._drive(SCENARIOS[self.scenario].journey(self.visitor))

    def _drive(self, journey) -> bool:
        """Send the journey's requests one after the other; return False if one failed."""
        request = next(journey)
        while True:
            headers, body = dict(request.headers), None
            if request.form is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                body = urlencode(request.form)
            with self.client.request(
                request.method,
                request.path,
                name=request.name,
                data=body,
                json=request.json,
                headers=headers,
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                if answer.status_code not in request.expect:
                    answer.failure(f"status {answer.status_code}")
                    journey.close()
                    return False
                response = Response(
                    answer.status_code, {k.lower(): v for k, v in answer.headers.items()}, answer.content or b""
                )
                try:
                    request = journey.send(response)
                except StopIteration:
                    answer.success()
                    return True
                except (JourneyError, ValueError, KeyError, TypeError) as error:
                    answer.failure(f"journey: {error}")
                    return False
                answer.success()


class Browser(JourneyUser):
    scenario = "browse"
    weight = MIX.get("browse", 0)


class ApiClient(JourneyUser):
    scenario = "api"
    weight = MIX.get("api", 0)


class Exporter(JourneyUser):
    scenario = "export"
    weight = MIX.get("export", 0)
    wait_time = between(2, 4)  # stays under the api's export throttle (30/min per user by default)
