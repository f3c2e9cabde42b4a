"""Routes of the web service: pages under the `web` namespace, plus the Django admin."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

import runtime.url_numbers  # noqa: F401  (registers the `id` path converter: ASCII digits within bigint)
from web.views import accounts, exports, polls

app_name = "web"

web_patterns = [
    path("", polls.home, name="home"),
    path("polls/<id:poll_id>/", polls.poll_detail, name="poll-detail"),
    path("polls/<id:poll_id>/vote/", polls.poll_vote, name="poll-vote"),
    path("polls/<id:poll_id>/results/", polls.poll_results_page, name="poll-results"),
    path("polls/<id:poll_id>/export/", exports.export_create, name="export-create"),
    path("exports/<id:export_id>/", exports.export_status, name="export-status"),
    path("exports/<id:export_id>/download/", exports.export_download, name="export-download"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    # LogoutView accepts POST only (Django 5), so the nav has a small form, not a link.
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]

# The namespace comes from include(), not from app_name alone: this module is the web service's
# ROOT_URLCONF and tests.urls reuses its urlpatterns, and both need reverse("web:...") to work.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include((web_patterns, app_name))),
]
