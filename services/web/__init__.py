"""The web service: server-rendered pages, sign-up/login, exports and the Django admin."""
