"""Shared wiring for every Django service: settings by role, Celery app, WSGI, middleware."""
