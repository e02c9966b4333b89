from importlib import import_module

from django.apps import AppConfig
from django.urls import register_converter
from django.utils.translation import gettext_lazy as _

from gridmap.converters import CodeConverter


class GridmapConfig(AppConfig):
    name = "gridmap"
    verbose_name = _("Grid")

    def ready(self):
        import_module("gridmap.security")  # connects the failed-sign-in receiver
        import_module("gridmap.checks")  # registers the deployment checks
        register_converter(CodeConverter, "code")  # <code:…> in the apps' URLs
