"""An index for the export sweeper and the retention delete: (status, finished_at).

Built CONCURRENTLY (no write lock on the table while it builds), outside a transaction; a run
that failed half-way leaves an INVALID index, which the next run drops and builds again.
"""

from django.db import migrations, models

INDEX = "export_status_finished_at"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("domain", "0003_one_active_export_per_user_per_poll"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"', migrations.RunSQL.noop),
                migrations.RunSQL(
                    f'CREATE INDEX CONCURRENTLY "{INDEX}" ON "domain_resultexport" ("status", "finished_at")',
                    f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"',
                ),
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="resultexport",
                    index=models.Index(fields=["status", "finished_at"], name=INDEX),
                ),
            ],
        ),
    ]
