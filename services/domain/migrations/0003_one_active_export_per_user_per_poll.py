"""One pending or running export per user and poll, enforced by a partial unique index.

Built CONCURRENTLY, so the table stays writable while the index builds (a plain CREATE INDEX
blocks every export request for the whole build). That cannot run in a transaction, hence
atomic = False; a run that fails half-way leaves an INVALID index behind, which the next run
drops before building it again.

Exports requested before this release may already hold duplicates: all but the oldest of each
(poll, user) are marked failed first (the retention task deletes them later), or the unique index
could not be built.
"""

from django.conf import settings
from django.db import migrations, models

INDEX = "one_active_export_per_user_per_poll"

MARK_DUPLICATES_FAILED = """
UPDATE domain_resultexport
SET status = 'failed', error = 'Replaced by an earlier export of the same poll.', finished_at = now()
WHERE status IN ('pending', 'running')
  AND id NOT IN (
    SELECT min(id) FROM domain_resultexport
    WHERE status IN ('pending', 'running')
    GROUP BY poll_id, requested_by_id
  )
"""


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("domain", "0002_result_export_queued_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunSQL(MARK_DUPLICATES_FAILED, migrations.RunSQL.noop, elidable=True),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"', migrations.RunSQL.noop),
                migrations.RunSQL(
                    f'CREATE UNIQUE INDEX CONCURRENTLY "{INDEX}" ON "domain_resultexport" '
                    "(\"poll_id\", \"requested_by_id\") WHERE \"status\" IN ('pending', 'running')",
                    f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"',
                ),
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="resultexport",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status__in", ["pending", "running"])),
                        fields=("poll", "requested_by"),
                        name=INDEX,
                    ),
                ),
            ],
        ),
    ]
