from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IndicatorsConfig(AppConfig):
    name = "civicgrid.indicators"
    label = "indicators"
    verbose_name = _("指标与看板")

    def ready(self) -> None:
        from civicgrid.indicators import checks, policies  # noqa: F401  (system checks; the scope policy)
