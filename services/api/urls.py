"""Routes of the api service; everything lives under /api/ (the gateway's routing prefix).

Ids in paths are `<id:...>` (runtime.url_numbers): ASCII digits within bigint, anything else a 404.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import runtime.url_numbers  # noqa: F401  (registers the `id` path converter)
from api.views.auth import TokenObtainApi
from api.views.exports import ExportCreateApi, ExportDetailApi, ExportDownloadApi
from api.views.polls import PollDetailApi, PollListCreateApi, PollResultsApi, PollVoteApi

api_patterns = [
    path("polls/", PollListCreateApi.as_view(), name="poll-list"),
    path("polls/<id:poll_id>/", PollDetailApi.as_view(), name="poll-detail"),
    path("polls/<id:poll_id>/vote/", PollVoteApi.as_view(), name="poll-vote"),
    path("polls/<id:poll_id>/results/", PollResultsApi.as_view(), name="poll-results"),
    path("exports/", ExportCreateApi.as_view(), name="export-list"),
    path("exports/<id:export_id>/", ExportDetailApi.as_view(), name="export-detail"),
    path("exports/<id:export_id>/download/", ExportDownloadApi.as_view(), name="export-download"),
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [path("api/", include((api_patterns, "api")))]

# The api service's ROOT_URLCONF: paths no route matches and bodies Django cannot read get JSON.
handler404 = "api.handlers.not_found"
handler400 = "api.handlers.bad_request"
