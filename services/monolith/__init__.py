"""The whole app in one process: web pages, the API and static files, for benchmarks only.

loadtest/polls_loadtest/bench compares the decomposed stack with this "monolith" (same code, one gunicorn) to
show what splitting into services buys. It is not deployed: compose and Kubernetes run web, api
and static as separate services.
"""
