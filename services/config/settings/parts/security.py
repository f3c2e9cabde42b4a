"""Keys, hosts, HTTPS, cookies and passwords."""

from config.env import env_bool, env_int, env_list, env_str
from runtime.secret_key import usable_secret_key

# A published (CHANGE-ME...) or short key stops start-up in every role (runtime.secret_key).
SECRET_KEY = usable_secret_key(env_str("DJANGO_SECRET_KEY"), variable="DJANGO_SECRET_KEY")
# Former keys, still accepted for signatures made with them while a rotation rolls out (sessions
# and reset links stay valid); drop them once every pod runs the new key and the sessions expired.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Production-safe by default; the compose stack turns HTTPS-only settings off for local HTTP.
# The gateway (behind a TLS-terminating Ingress) forwards the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# HSTS preload is a commitment made by the domain's owner with the browser vendors, not a default
# a template should make; see https://hstspreload.org/#removal.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
