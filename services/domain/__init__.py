"""The polls domain, shared by web, api and worker: models, services (writes) and selectors (reads)."""
