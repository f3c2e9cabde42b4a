"""Polls, their choices, the votes cast and the CSV exports of results."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Poll(models.Model):
    """A question that users may vote on while now lies between opens_at and closes_at."""

    question = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="polls")
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    # Set by the periodic close task once closes_at has passed: results are final from then on.
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_at", "-id"]
        indexes = [models.Index(fields=["opens_at", "closes_at"], name="poll_open_window")]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="poll_closes_after_it_opens")
        ]

    def __str__(self) -> str:
        return self.question

    def is_open(self, at) -> bool:
        """Return True if votes are accepted at the given moment."""
        return self.closed_at is None and self.opens_at <= at < self.closes_at

    def next_change(self, at):
        """Return when is_open() next changes after the given moment, or None once it is closed."""
        if self.closed_at is not None or at >= self.closes_at:
            return None
        return self.opens_at if at < self.opens_at else self.closes_at


class Choice(models.Model):
    """One answer of a poll, with a running count of the votes it received."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=200)
    # Incremented with an UPDATE ... SET votes = votes + 1 in the voting transaction, so concurrent
    # votes never overwrite each other; the Vote rows remain the source of truth.
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.text


class Vote(models.Model):
    """A user's single vote in a poll."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="vote_set")
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE, related_name="vote_set")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    cast_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The database, not a check-then-insert in Python, guarantees one vote per user per
            # poll: two racing requests cannot both win.
            models.UniqueConstraint(fields=["poll", "user"], name="one_vote_per_user_per_poll")
        ]


class ResultExport(models.Model):
    """A request for a poll's results as CSV, built by the worker."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    content = models.TextField(blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set once the broker has the build task; a pending export without it lost its task (the
    # broker was down when it was sent) and is sent again by the sweeper.
    queued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    ACTIVE = (Status.PENDING, Status.RUNNING)
    FINISHED = (Status.DONE, Status.FAILED)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The retention delete (finished exports by status and finished_at) reads through
            # this index, and the sweeper can (active exports by status); neither then scans the
            # whole table as finished exports pile up. PostgreSQL usually serves the sweeper from
            # the partial unique index below instead, which holds exactly the active exports.
            models.Index(fields=["status", "finished_at"], name="export_status_finished_at"),
        ]
        constraints = [
            # The database, not a check-then-insert, keeps one pending or running export per user
            # and poll: a second request gets the first one back (export_request).
            models.UniqueConstraint(
                fields=["poll", "requested_by"],
                condition=Q(status__in=["pending", "running"]),
                name="one_active_export_per_user_per_poll",
            )
        ]

    def __str__(self) -> str:
        return f"export {self.pk} of poll {self.poll_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
