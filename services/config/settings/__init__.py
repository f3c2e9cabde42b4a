"""Settings split by role (web, api, worker, build, test, monolith), never by environment.

Each role module composes topic modules (project, security, database, caching, login_limits,
celery_producer, ...; base.py lists the ones every role has). build, test and monolith include
every part. Environments differ only in environment variables; see config.env and the README's table.
"""
