"""The release drill (issue 14, docs/releases.md): release N -> N+1 (expand) -> N+2 (contract) under load.

N+1 adds ResultExport.row_count (nullable: the worker writes it, a task that beat sends backfills
older exports in batches); N+2 makes every done export carry it (a CHECK constraint); both are
patches in loadtest/release/. Under the drills' load each release runs its migrate, rolls web, api
and worker one replica at a time side by side, and replaces beat. `unsafe=True` releases an unsafe
migration instead (NOT NULL, a Python-side default only): the drill passes when users see errors.
"""

import argparse
import re
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from polls_loadtest import REPORTS, read_env
from polls_loadtest.drills import report, rollout
from polls_loadtest.drills.drills import Check, Context, Drill, export_checks, zero_failed
from polls_loadtest.drills.figures import Figures, slowest_service_s
from polls_loadtest.drills.rollout import Release
from polls_loadtest.drills.runner import DrillResult, run_drill
from polls_loadtest.drills.site import Site
from polls_loadtest.load.recorder import Event
from polls_loadtest.stack import Stack
from polls_loadtest.stack.compose import REPO, override_file

# Exports "built by earlier releases" that the backfill must fill in: enough for several batches
# (BACKFILL_BATCH = 500 in the patch), so the batching and re-queueing run for real.
OLD_EXPORTS = 3000
# beat's interval for the backfill in the drill (BACKFILL_ROW_COUNT_EVERY; 60 s in the patch).
BACKFILL_EVERY_S = 5
BACKFILL_WITHIN_S = 90
# A request may wait behind a migration for at most one lock timeout (`manage.py migrate` gives up
# and retries after MIGRATE_LOCK_TIMEOUT_MS), plus what the request itself costs on this machine.
REQUEST_MARGIN_S = 1.0
DATABASE_SETTINGS = REPO / "services" / "config" / "settings" / "parts" / "database.py"


def lock_timeout_s() -> float:
    """MIGRATE_LOCK_TIMEOUT_MS as the stack runs it: config.env's value, else the settings' default."""
    if configured := read_env(REPO / "config.env").get("MIGRATE_LOCK_TIMEOUT_MS"):
        return int(configured) / 1000
    default = re.search(r'env_milliseconds\("MIGRATE_LOCK_TIMEOUT_MS", (\d+)\)', DATABASE_SETTINGS.read_text())
    return int(default.group(1)) / 1000


EXPAND = Release("n1", "N+1 (expand)", ("expand.patch",))
CONTRACT = Release("n2", "N+2 (contract)", ("expand.patch", "contract.patch"))
UNSAFE = Release("unsafe", "N+1 unsafe", ("expand.patch", "unsafe.patch"))


def _roll_all(ctx: Context, release: Release, release_file: str) -> None:
    """Roll web, api and worker to a release side by side, each one replica at a time."""
    errors: list[BaseException] = []
    # Each replica replaced goes in the facts, not on the chart: six markers would hide the phases.
    replaced = ctx.facts.setdefault("replaced", [])

    def note(old: str) -> None:  # as the old replica is told to stop
        replaced.append((round(ctx.run.elapsed, 1), f"{old.removeprefix(ctx.stack.project + '-')} -> {release.name}"))

    def one(service: str) -> None:
        try:
            ctx.stack.rolling_restart(service, before_stop=note, extra_files=(release_file,))
        except BaseException as error:  # noqa: BLE001 - raised below, in the drill's thread
            errors.append(error)

    threads = [ctx.background(one, service) for service in rollout.ROLLED]
    for thread in threads:
        thread.join(max(1.0, ctx.deadline - time.monotonic()))
    if errors:
        raise errors[0]
    if any(t.is_alive() for t in threads):
        raise rollout.ReleaseError(f"release {release.name}: the rollout did not finish before the drill's deadline")


def _deploy(ctx: Context, release: Release, tag: str, *, beat_env: dict[str, str] | None = None) -> None:
    """One release, as `make k8s-apply` orders it: migrate, then the rollout."""
    if ctx.fault_start is None:
        ctx.fault_begins(f"{release.title}: migrate")
    else:
        ctx.mark(f"{release.title}: migrate")
    with override_file(rollout.override(tag, beat_env=beat_env)) as release_file:
        migrate_s = rollout.migrate(ctx.stack, release_file, release=release.name)
        ctx.facts.setdefault("migrate_s", {})[release.name] = round(migrate_s, 1)
        ctx.mark(f"{release.title}: roll web, api, worker")
        _roll_all(ctx, release, release_file)
        ctx.mark(f"{release.title}: replace beat")
        # The backfill starts with the first tick of the new beat (docs/releases.md: not from migrate).
        ctx.facts.setdefault("backfill_from", {})[release.name] = time.monotonic()
        rollout.replace_beat(ctx.stack, release_file)


def _seed_old_exports(stack: Stack, count: int) -> None:
    """Insert `count` done exports as an earlier release built them: without row_count."""
    stack.sql(
        "INSERT INTO domain_resultexport (poll_id, requested_by_id, status, content, error, attempts, created_at, "
        "started_at, finished_at) SELECT p.id, p.owner_id, 'done', 'poll_id,question,choice_id,choice,votes', '', 1, "
        "now(), now(), now() FROM generate_series(1, "
        f"{int(count)}) g JOIN LATERAL (SELECT id, owner_id FROM domain_poll ORDER BY id LIMIT 1 OFFSET g % 100) p "
        "ON true"
    )


def _missing_row_count(stack: Stack) -> int:
    return int(stack.sql("SELECT count(*) FROM domain_resultexport WHERE status = 'done' AND row_count IS NULL")[0][0])


def _wait_backfill(ctx: Context) -> None:
    began = ctx.facts["backfill_from"][EXPAND.name]
    deadline = min(ctx.deadline, time.monotonic() + BACKFILL_WITHIN_S)
    while (missing := _missing_row_count(ctx.stack)) and time.monotonic() < deadline:
        time.sleep(0.5)
    ctx.facts["backfill_s"] = round(time.monotonic() - began, 1)
    ctx.facts["missing_after_backfill"] = missing
    ctx.mark(f"backfill complete ({ctx.facts['backfill_s']} s)" if not missing else f"backfill: {missing} left")


def _images(stack: Stack) -> dict[str, list[str]]:
    """Return the image each running replica of the rolled services and beat runs, by service."""
    return {
        service: sorted({rollout.image_of(replica) for replica in stack.replicas(service)})
        for service in (*rollout.ROLLED, "beat")
    }


def _new_export_answer(site: Site) -> dict:
    """Request an export through the gateway once the release is out; return the api's answer
    when it is done: it carries row_count only when the api and the worker are the new code."""
    ((_, export_id),) = site.request_exports(1, workers=1)
    site.wait_exports([export_id], timeout=30)
    answer = site.http.get(f"{site.stack.target}/api/exports/{export_id}/", headers=site.auth(), timeout=10)
    return answer.json() if answer.ok else {"status_code": answer.status_code}


def _judge_safe(ctx: Context, figures: Figures, events: list[Event]) -> list[Check]:
    bound = lock_timeout_s() + REQUEST_MARGIN_S
    service, latency = slowest_service_s(events), max((e.done - e.due for e in events), default=0.0)
    return [
        zero_failed(figures),
        Check(
            f"no request slower than the lock bound ({bound:g} s = MIGRATE_LOCK_TIMEOUT_MS + {REQUEST_MARGIN_S:g} s)",
            0 < service <= bound,
            f"slowest {service:.2f} s sent to answered ({latency:.2f} s from its scheduled time)",
        ),
        *export_checks(ctx, duplicates_allowed=0, what="export task"),
        Check(
            "backfill complete: every done export has row_count",
            ctx.facts.get("missing_after_backfill") == 0 and ctx.facts.get("missing_at_end") == 0,
            f"{OLD_EXPORTS} old exports filled in {ctx.facts.get('backfill_s')} s from the start of N+1's beat "
            f"(first tick after {BACKFILL_EVERY_S} s); "
            f"{ctx.facts.get('missing_at_end')} without it at the end",
        ),
        Check(
            "every web, api, worker and beat replica runs N+2 at the end",
            ctx.facts.get("images_at_end")
            == {s: [rollout.image(s, ctx.facts["tags"][CONTRACT.name])] for s in (*rollout.ROLLED, "beat")},
            f"{ctx.facts.get('images_at_end')}",
        ),
        Check(
            "a new export's api answer has row_count (written by the new worker, read by the new api)",
            isinstance(ctx.facts.get("new_export", {}).get("row_count"), int),
            f"{ctx.facts.get('new_export')}",
        ),
        Check(
            "the whole release ran under load",
            bool(ctx.facts.get("released_within_load")),
            f"release from {figures.window[0]:.0f} s to {figures.window[1]:.0f} s of {ctx.facts.get('duration'):g} s "
            f"of load; {_rollout_detail(ctx)}",
        ),
    ]


def _judge_unsafe(ctx: Context, figures: Figures, events: list[Event]) -> list[Check]:
    failed = [e for e in events if not e.ok]
    kinds = ctx.facts["failures_by_request"] = dict(Counter(f"{e.request} -> {e.outcome}" for e in failed))
    span = f" from {min(e.due for e in failed):.1f} s to {max(e.due for e in failed):.1f} s" if failed else ""
    return [
        Check(
            "users saw errors while N served against the unsafe schema",
            bool(failed),
            f"{len(failed)} failed of {figures.sent}{span}: {dict(sorted(kinds.items(), key=lambda kv: -kv[1]))}; "
            f"{_rollout_detail(ctx)}",
        ),
    ]


def _rollout_detail(ctx: Context) -> str:
    replaced = ", ".join(f"{label} at {t:g} s" for t, label in ctx.facts.get("replaced", []))
    return f"migrate {ctx.facts.get('migrate_s')} s; replaced: {replaced}"


# Seconds of load: enough for both releases on the 2-core machine (each about 90 s there, see
# docs/resilience.md), with the load still running when the last replica is replaced.
SAFE_DURATION_S = 240.0
UNSAFE_DURATION_S = 120.0


def release_drill(tags: dict[str, str], *, unsafe: bool = False) -> Drill:
    """The drill for `tags` ({release name: image tag}); the unsafe variant when asked."""

    def inject(ctx: Context) -> None:
        ctx.facts.update(tags=tags, duration=ctx.run.settings.duration)
        _seed_old_exports(ctx.stack, OLD_EXPORTS)
        ctx.exports_from_now()
        ctx.at(10)
        if unsafe:
            _deploy(ctx, UNSAFE, tags[UNSAFE.name])
            ctx.fault_ends(f"{UNSAFE.title}: rolled out")
        else:
            beat_env = {"BACKFILL_ROW_COUNT_EVERY": str(BACKFILL_EVERY_S)}
            _deploy(ctx, EXPAND, tags[EXPAND.name], beat_env=beat_env)
            _wait_backfill(ctx)
            _deploy(ctx, CONTRACT, tags[CONTRACT.name])
            ctx.fault_ends(f"{CONTRACT.title}: rolled out")
            ctx.facts["missing_at_end"] = _missing_row_count(ctx.stack)
            ctx.facts["images_at_end"] = _images(ctx.stack)
            ctx.facts["new_export"] = _new_export_answer(ctx.site)
        ctx.facts["released_within_load"] = ctx.run.elapsed < ctx.facts["duration"]
        ctx.settle_exports(within=60.0)

    if unsafe:
        title = "Release N -> N+1 whose migration is unsafe (NOT NULL column, Python-side default only)"
        criterion = "shows errors: N's replicas cannot insert exports once the migration has run"
        return Drill("release-unsafe", title, criterion, UNSAFE_DURATION_S, inject, _judge_unsafe)
    title = "Release N -> N+1 (expand, backfill) -> N+2 (contract), rolled one replica at a time"
    criterion = (
        "0 failed requests; no export task lost or run twice; no request slower than the lock bound; backfill complete"
    )
    return Drill("release", title, criterion, SAFE_DURATION_S, inject, _judge_safe)


def run_release(site: Site, *, unsafe: bool = False) -> DrillResult:
    """Build the releases, then run the drill (after which the stack's own files bring back release N)."""
    # Each release's images are built before the load starts.
    tags = {r.name: rollout.build(site.stack, r) for r in ((UNSAFE,) if unsafe else (EXPAND, CONTRACT))}
    # After the drill the stack's own replicas (release N) come back on the migrated schema: an
    # expand step keeps that working; after a contract step the stack is only for looking at.
    return run_drill(release_drill(tags, unsafe=unsafe), site)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m polls_loadtest.drills.release", description=__doc__)
    parser.add_argument("--unsafe", action="store_true", help="the same release with an unsafe migration")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    name = "release-unsafe" if args.unsafe else "release"
    out = args.out or REPORTS / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    # The polls-release stack (its gateway on 127.0.0.1), or the one the Makefile exported.
    result = run_release(Site(Stack.from_environment("release")), unsafe=args.unsafe)
    report.write([result], out, started_at=datetime.now().isoformat(timespec="seconds"))
    print()
    print(report.table([result]))
    print(f"\n{'PASS' if result.passed else 'FAIL'}: {name}; report: {out / 'index.html'}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
