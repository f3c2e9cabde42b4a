"""The Universal Scalability Law (Gunther): throughput of N replicas from a few measured points.

    X(N) = lambda * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))

lambda is one replica's throughput, sigma the share serialised on something common (contention),
kappa the cost of keeping replicas coherent (crosstalk). With X(1) measured, each other point gives
    lambda * N / X(N) - 1 = sigma * (N - 1) + kappa * N * (N - 1),
linear in sigma and kappa, so a least-squares fit needs no optimiser. Two points (1 and 2 replicas,
what `make bench` measures) fix only sigma: kappa is then 0 (Amdahl's law), which is optimistic
at large N; the report says so.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class USL:
    """A fitted curve: one replica's throughput and the two coefficients."""

    lam: float
    sigma: float = 0.0
    kappa: float = 0.0

    def throughput(self, n: float) -> float:
        """Return the throughput the curve predicts for n replicas."""
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))

    @property
    def peak_replicas(self) -> float:
        """Return the replica count of the highest throughput (infinite without crosstalk)."""
        return math.sqrt((1 - self.sigma) / self.kappa) if self.kappa > 0 else math.inf

    @property
    def ceiling(self) -> float:
        """Return the most throughput any replica count gives (the peak, or Amdahl's limit)."""
        if self.kappa > 0:
            n = max(1.0, self.peak_replicas)
            return max(self.throughput(math.floor(n)), self.throughput(math.ceil(n)))
        return self.lam / self.sigma if self.sigma > 0 else math.inf

    def practical_max(self, share: float = 0.9, *, limit: int = 1000) -> int:
        """Return the fewest replicas that give `share` of the ceiling: more buy next to nothing."""
        return self.replicas_for(share * self.ceiling, limit=limit) or limit

    def replicas_for(self, target: float, *, limit: int = 1000) -> int | None:
        """Return the fewest replicas that reach `target`, or None if the curve never does."""
        if target > self.ceiling:
            return None
        for n in range(1, limit + 1):
            if self.throughput(n) >= target:
                return n
            if n > self.peak_replicas:
                return None
        return None


def fit(points: Mapping[int, float]) -> USL:
    """Fit the USL to {replicas: throughput}; needs the 1-replica point. sigma, kappa >= 0."""
    if 1 not in points or points[1] <= 0:
        raise ValueError("the fit needs the throughput of one replica")
    lam = points[1]
    # Rows (N - 1, N(N - 1)) -> y = lam N / X(N) - 1, for N > 1.
    rows = [(n - 1, n * (n - 1), lam * n / x - 1) for n, x in sorted(points.items()) if n > 1 and x > 0]
    if not rows:
        return USL(lam)
    if len(rows) == 1:
        a, b, y = rows[0]
        if y > a:  # X(N) < X(1): contention alone (sigma <= 1) cannot do that; the rest is crosstalk
            return USL(lam, sigma=1.0, kappa=(y - a) / b)
        return USL(lam, sigma=max(0.0, y / a))
    # Normal equations of the 2x2 least squares, then clamp to the physically meaningful range.
    saa = sum(a * a for a, _, _ in rows)
    sab = sum(a * b for a, b, _ in rows)
    sbb = sum(b * b for _, b, _ in rows)
    say = sum(a * y for a, _, y in rows)
    sby = sum(b * y for _, b, y in rows)
    det = saa * sbb - sab * sab
    sigma, kappa = ((say * sbb - sby * sab) / det, (saa * sby - sab * say) / det) if det else (say / saa, 0.0)
    if kappa < 0:  # no crosstalk seen: refit sigma alone
        sigma, kappa = say / saa, 0.0
    if sigma < 0:  # better than linear (noise, caches): sigma 0, kappa alone
        sigma, kappa = 0.0, max(0.0, sby / sbb)
    if sigma > 1:  # retrograde: contention is at most everything; crosstalk explains the rest
        kappa = max(kappa, sum(b * (y - a) for a, b, y in rows) / sbb)
        sigma = 1.0
    return USL(lam, sigma=sigma, kappa=kappa)


def efficiency(one: float, two: float) -> float:
    """Return the scaling efficiency of two replicas: X(2) / (2 X(1))."""
    return two / (2 * one)
