"""Figures of a batch of exports from their database times: throughput and queue wait."""

from polls_loadtest.load.recorder import percentile


def export_figures(rows: list[dict]) -> dict:
    """Return done/failed counts, exports per second and queue wait (enqueued -> started) in ms.

    Enqueued is when the broker took the task (`queued` in the row) where the model records it,
    else when the export was created (the task is sent right after that commit).

    Throughput is done exports over the span from the first start to the last finish, so the
    time the batch spent being queued (workers paused) is not counted against the workers.
    """
    done = [r for r in rows if r["status"] == "done" and r["started"] and r["finished"]]
    figures = {"queued": len(rows), "done": len(done), "unfinished": sum(1 for r in rows if not r["finished"])}
    if not done:
        return figures
    span = max(r["finished"] for r in done) - min(r["started"] for r in done)
    waits = sorted(1000 * (r["started"] - (r.get("queued") or r["created"])) for r in done)
    figures.update(
        exports_per_second=round(len(done) / span, 2) if span > 0 else None,
        queue_wait_ms={
            "p50": round(percentile(waits, 50), 1),
            "p99": round(percentile(waits, 99), 1),
            "max": round(waits[-1], 1),
        },
    )
    return figures
