"""Sign-up; logging in and out are Django's own views (see web.urls), limited by django-axes."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from web.throttles import SignupThrottle
from web.views.http import see_other


@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account from the sign-up form, log the new user in and go home."""
    if request.user.is_authenticated:
        return redirect("web:home")
    if request.method == "POST":
        throttle = SignupThrottle()
        if not throttle.allow_request(request, None):
            return _too_many_attempts(request, throttle)
    form = UserCreationForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        # Errors are shown with 200, like Django's LoginView does for a wrong password.
        return render(request, "registration/signup.html", {"form": form})
    user = form.save()
    # Several backends are configured (django-axes first), so login() must be told which one
    # vouches for a user who has just been created rather than authenticated.
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome, {user.get_username()}! You are signed in.")
    return see_other("web:home")


def _too_many_attempts(request: HttpRequest, throttle: SignupThrottle) -> HttpResponse:
    # The form again, unbound (nothing was checked or saved), with the reason and when to retry.
    seconds = max(1, round(throttle.wait() or 1))
    error = f"Too many sign-up attempts from your address. Try again in about {-(-seconds // 60)} minute(s)."
    response = render(request, "registration/signup.html", {"form": UserCreationForm(), "error": error}, status=429)
    response["Retry-After"] = str(seconds)
    return response
