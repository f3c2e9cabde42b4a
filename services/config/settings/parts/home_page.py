"""The home page's poll list (domain's selectors build it for every role that renders it)."""

from config.env import env_int

# Polls per page and how long a rendered page list stays cached.
POLLS_PER_PAGE = env_int("POLLS_PER_PAGE", 20)
HOME_CACHE_SECONDS = env_int("HOME_CACHE_SECONDS", 30)
