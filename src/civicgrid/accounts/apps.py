from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "civicgrid.accounts"
    label = "accounts"
    verbose_name = _("账号与权限")

    def ready(self) -> None:
        from civicgrid.accounts import checks, signals  # noqa: F401  (system checks; login/logout audit hooks)
