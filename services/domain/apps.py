from django.apps import AppConfig


class DomainConfig(AppConfig):
    name = "domain"
    verbose_name = "Polls"

    def ready(self):
        from domain import token_cache

        token_cache.connect_receivers()
