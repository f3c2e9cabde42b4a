"""PostgreSQL connection budget: how many connections the replicas can open, against the limit.

Each gunicorn process of web and api borrows connections from its own pool of at most
POSTGRES_POOL_SIZE (config.settings.parts.database), so a replica holds at most workers x pool
size, however many threads it runs (without a pool, POSTGRES_POOL_SIZE 0, each thread holds a
persistent connection: workers x threads). A Celery prefork worker holds one persistent
connection per child (its concurrency); beat and the one-off migrate hold one each. PostgreSQL
keeps superuser_reserved_connections (3 by default) for administrators. Past about 80 % of
max_connections, a pooler in front of PostgreSQL (PgBouncer in transaction mode) is the next
step: more backends cost PostgreSQL memory and context switches even while idle.
"""

from collections.abc import Mapping
from dataclasses import dataclass

POOLER_THRESHOLD = 0.8
RESERVED = 3


@dataclass(frozen=True)
class Budget:
    """Connections by service, their total, the usable limit, and whether to add a pooler."""

    by_service: dict[str, int]
    total: int
    usable: int
    max_connections: int

    @property
    def share(self) -> float:
        return self.total / self.usable

    @property
    def needs_pooler(self) -> bool:
        return self.share > POOLER_THRESHOLD

    @property
    def over_limit(self) -> bool:
        return self.total > self.usable


def connection_budget(
    replicas: Mapping[str, int],
    *,
    gunicorn_workers: int,
    gunicorn_threads: int,
    pool_size: int,
    celery_concurrency: int,
    max_connections: int,
    reserved: int = RESERVED,
) -> Budget:
    """Return the budget for {service: replicas} (web, api, worker; beat and migrate add 1 each)."""
    gunicorn = gunicorn_workers * (pool_size or gunicorn_threads)
    per_replica = {"web": gunicorn, "api": gunicorn, "worker": celery_concurrency, "beat": 1, "migrate": 1}
    counts = {"beat": 1, "migrate": 1, **replicas}
    by_service = {name: counts[name] * per_replica[name] for name in per_replica if name in counts}
    return Budget(by_service, sum(by_service.values()), max_connections - reserved, max_connections)
