"""Queries about result exports."""

from django.contrib.auth.models import AbstractBaseUser

from domain.errors import NotFound
from domain.models import ResultExport


def export_get(*, export_id: int, user: AbstractBaseUser) -> ResultExport:
    """Return an export the user requested (others' exports are reported as not found)."""
    export = ResultExport.objects.filter(pk=export_id, requested_by_id=user.pk).first()
    if export is None:
        raise NotFound("No such export.")
    return export
