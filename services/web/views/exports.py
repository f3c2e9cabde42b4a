"""CSV exports of poll results: request one, follow its progress, download it."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from domain.errors import ExportLimitReached, ExportNotReady
from domain.selectors import export_get, export_get_ready
from domain.services import export_request
from web.views.errors import as_error_page, not_found_as_404
from web.views.http import login_required_back_to, see_other


@require_POST
@login_required_back_to("web:poll-results")
@not_found_as_404
def export_create(request: HttpRequest, poll_id: int) -> HttpResponse:
    """Queue a CSV export of the poll's results (or find the one in progress), show its status.

    A user over the export limit gets a page saying when to retry (429), as the api answers.
    """
    try:
        export = export_request(user=request.user, poll_id=poll_id)
    except ExportLimitReached as error:
        context = {"poll_id": poll_id, "error": error.message}
        return as_error_page(render(request, "web/export.html", context), error)
    return see_other("web:export-status", export_id=export.pk)


@require_safe
@login_required
@not_found_as_404
def export_status(request: HttpRequest, export_id: int) -> HttpResponse:
    """Render the export's status; the page reloads itself until the export has finished."""
    return render(request, "web/export.html", {"export": export_get(export_id=export_id, user=request.user)})


@require_safe
@login_required
@not_found_as_404
def export_download(request: HttpRequest, export_id: int) -> HttpResponse:
    """Return the finished export as a CSV attachment, or its status page with 409 until then."""
    try:
        export = export_get_ready(export_id=export_id, user=request.user)
    except ExportNotReady as error:
        context = {"export": export_get(export_id=export_id, user=request.user), "error": error.message}
        return as_error_page(render(request, "web/export.html", context), error)
    response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="poll-{export.poll_id}-results.csv"'
    return response
