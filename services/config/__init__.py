"""Wiring for every Django service: settings by role, the Celery app, WSGI, gunicorn config, env reading.

The parts these wire together live in the runtime package (services/README.md).
"""
