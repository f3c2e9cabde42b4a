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


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["poll", "choice", "user", "cast_at"]
    raw_id_fields = ["poll", "choice", "user"]


@admin.register(ResultExport)
class ResultExportAdmin(admin.ModelAdmin):
    list_display = ["id", "poll", "requested_by", "status", "attempts", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["poll", "requested_by"]
    readonly_fields = ["content", "error"]
