from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "civicgrid.cases"
    label = "cases"
    verbose_name = _("测评与整改")

    def ready(self) -> None:
        # Register the scope policies (the scoping matrix walks the registry) and the indicator sources.
        from civicgrid.cases import indicator_sources, policies  # noqa: F401
