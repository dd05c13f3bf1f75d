from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "civicgrid.people"
    label = "people"
    verbose_name = _("人员库")

    def ready(self) -> None:
        import civicgrid.people.import_schema  # noqa: F401  (registers the import schemas)
        from civicgrid.people import policies  # noqa: F401  (registers the scope policy)
