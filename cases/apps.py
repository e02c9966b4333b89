from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """The migration history of the register as it began: one app, `cases`, created every
    table the three case apps own (cases/migrations 0001–0006); 0007 handed each model's
    state to its app without touching a table. It holds no models and no code."""

    name = "cases"
    label = "cases"
    verbose_name = _("case work (history)")
