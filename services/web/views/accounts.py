"""Sign-up; logging in and out are Django's own views (see web.urls)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from web.views.http import see_other


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account from the sign-up form, log the new user in and go home."""
    if request.user.is_authenticated:
        return redirect("web:home")
    form = UserCreationForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        # Errors are shown with 200, like Django's LoginView does for a wrong password.
        return render(request, "registration/signup.html", {"form": form})
    user = form.save()
    login(request, user)
    messages.success(request, f"Welcome, {user.get_username()}! You are signed in.")
    return see_other("web:home")

