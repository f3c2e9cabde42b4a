"""Settings split by role (web, api, worker, build, test), never by environment.

Environments differ only in environment variables; see config.env and the README's table.
"""
