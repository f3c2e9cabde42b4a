"""Poll pages: the home list, one poll with its vote form, voting and the results."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_POST, require_safe

from domain.cache import cached_poll_list
from domain.errors import DomainError, ErrorKind
from domain.selectors import poll_get, poll_home_page, poll_results, user_has_voted
from domain.services import vote_cast
from runtime.url_numbers import page_number
from web.forms import VoteForm
from web.views.errors import as_error_page, not_found_as_404
from web.views.http import login_required_back_to, see_other


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Render one page of open polls; a missing or malformed ?page= shows the first."""
    page = page_number(request.GET.get("page")) or 1
    return render(request, "web/home.html", {"poll_list": _poll_list_html(page)})


def _poll_list_html(page: int) -> str:
    """Return the HTML of one page of open polls, rendered once per page and cached with the lists.

    The list is the same for every visitor, and rendering its twenty polls (links, dates) was most
    of the home page's CPU (docs/performance.md); the layout around it, which knows the user, is
    rendered per request. A page number past the end is stored as the last page it shows.
    """
    language = get_language()

    def build() -> tuple[int, str]:
        shown = poll_home_page(page=page)
        return shown.number, render_to_string("web/poll_list.html", {"page": shown})

    _, html = cached_poll_list(
        f"home-html:{language}:{page}",
        build,
        timeout=settings.HOME_CACHE_SECONDS,
        stored_as=lambda built: f"home-html:{language}:{built[0]}",
    )
    return mark_safe(html)  # rendered by our template, with autoescaping, just above


@require_safe
@not_found_as_404
def poll_detail(request: HttpRequest, poll_id: int) -> HttpResponse:
    """Render a poll with its vote form, or why the user cannot vote."""
    return _render_detail(request, poll_id, form=None)


@require_POST
@login_required_back_to("web:poll-detail")
@not_found_as_404
def poll_vote(request: HttpRequest, poll_id: int) -> HttpResponse:
    """Cast the user's vote and show the results, or show the poll again with the reason."""
    form = VoteForm(request.POST)
    if not form.is_valid():
        return _render_detail(request, poll_id, form=form, status=400)
    try:
        vote_cast(user=request.user, poll_id=poll_id, choice_id=form.cleaned_data["choice"])
    except DomainError as error:
        if error.kind is ErrorKind.NOT_FOUND:
            raise  # the site's 404 page (not_found_as_404)
        if error.kind is ErrorKind.INVALID:
            form.add_error("choice", error.message)
            return as_error_page(_render_detail(request, poll_id, form=form), error)
        return as_error_page(_render_detail(request, poll_id, form=None, error=error.message), error)
    messages.success(request, "Thank you, your vote was recorded.")
    return see_other("web:poll-results", poll_id=poll_id)


@require_safe
@not_found_as_404
def poll_results_page(request: HttpRequest, poll_id: int) -> HttpResponse:
    """Render each choice's votes and share of the total."""
    return render(request, "web/results.html", {"results": poll_results(poll_id=poll_id)})


def _render_detail(
    request: HttpRequest,
    poll_id: int,
    *,
    form: VoteForm | None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    # Shared by the GET and by a rejected POST, so both show the poll the same way.
    poll = poll_get(poll_id=poll_id)
    form = form or VoteForm()
    form.show_choices_of(poll)
    now = timezone.now()
    context = {
        "poll": poll,
        "form": form,
        "error": error,
        "is_open": poll.is_open(now),
        "is_upcoming": poll.closed_at is None and now < poll.opens_at,
        "has_voted": user_has_voted(user=request.user, poll_id=poll.pk),
    }
    return render(request, "web/poll_detail.html", context, status=status)
