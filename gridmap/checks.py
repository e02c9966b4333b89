"""Deployment checks of our own (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def field_keys_from_the_environment(app_configs, **kwargs):
    """The keys of the encrypted ID and telephone numbers must be the deployment's, kept
    outside the checkout and its backups (docs/operations.md)."""
    if settings.GRIDCARE_KEYS_FROM_ENVIRONMENT:
        return []
    return [Warning("GRIDCARE_FIELD_KEYS and GRIDCARE_INDEX_KEYS are not set: the keys of the "
                    "encrypted ID and telephone numbers are the checkout's own (var/).",
                    hint="Generate them (docs/operations.md) and set both in the environment.",
                    id="gridmap.W001")]
