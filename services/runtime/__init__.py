"""Parts every Django service runs: middleware, health, metrics, the resilient cache, limits.

A library below config: it imports nothing of this project (config wires it into settings,
the Celery app and gunicorn), so any service can use it. See services/README.md.
"""
