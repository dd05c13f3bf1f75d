from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TerritoryConfig(AppConfig):
    name = "civicgrid.territory"
    label = "territory"
    verbose_name = _("网格与包干责任")

    def ready(self) -> None:
        import civicgrid.territory.import_schema  # noqa: F401  (registers the import schemas)
        import civicgrid.territory.indicator_sources  # noqa: F401  (registers the coverage indicator source)
        from civicgrid.territory import policies  # noqa: F401  (registers the scope policies)
