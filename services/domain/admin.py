"""The Django admin for the domain models. Votes are read-only here: they change only through
domain.services.vote_cast, which keeps each choice's running count equal to its Vote rows."""

from django.contrib import admin

from domain.models import Choice, Poll, ResultExport, Vote


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 2
    readonly_fields = ["votes"]


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ["question", "owner", "opens_at", "closes_at", "closed_at"]
    list_filter = ["opens_at", "closes_at"]
    search_fields = ["question"]
    raw_id_fields = ["owner"]
    inlines = [ChoiceInline]

    def get_deleted_objects(self, objs, request):
        """Let a poll go with its votes: the cascade takes choices and votes together, so no count
        goes wrong. Only deleting a vote on its own is refused (VoteAdmin)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Vote._meta.verbose_name)
        return deleted, counts, perms_needed, protected


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    """Votes to look at, never to add, edit or delete (that would bypass vote_cast's counting)."""

    list_display = ["poll", "choice", "user", "cast_at"]
    raw_id_fields = ["poll", "choice", "user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ResultExport)
class ResultExportAdmin(admin.ModelAdmin):
    """Exports to look at or delete; they are written only by export_request and the worker (an
    edited status could also break the one-active-export-per-user-and-poll rule)."""

    list_display = ["id", "poll", "requested_by", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["poll", "requested_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
