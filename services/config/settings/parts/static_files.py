"""Static files: hashed names from one collectstatic run at image build time."""

from .project import BASE_DIR

# collectstatic runs once, at image build time; web and api ship only the manifest it writes, the
# static service ships the files. Hashed names therefore always match across services.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
