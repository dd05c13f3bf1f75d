"""Accounts: one per named person, each with one role. The data scope (which territory) is
granted in the territory app; accounts know no grid."""

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.roles import Action, Role, role_allows
from civicgrid.accounts.validators import validate_not_reserved_username


class User(AbstractUser):
    username = models.CharField(
        _("账号"),
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator(), validate_not_reserved_username],
        error_messages={"unique": _("该账号已存在。")},
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices, default=Role.VILLAGE_CADRE)
    display_name = models.CharField(_("姓名"), max_length=50, blank=True)
    department = models.CharField(_("所属部门"), max_length=50, blank=True)
    # Set when an administrator issues a temporary password (new account, reset); cleared by the
    # user's own password change. accounts.first_login keeps the user on that page until then.
    must_change_password = models.BooleanField(_("须修改密码"), default=False)

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")

    def __str__(self) -> str:
        return self.display_name or self.username

    def can(self, action: Action) -> bool:
        """Whether this account's role holds the action (active accounts only)."""
        return bool(self.is_active) and role_allows(self.role, action)

    @property
    def can_manage_accounts(self) -> bool:
        """For templates (the navigation): whether the role holds MANAGE_ACCOUNTS."""
        return self.can(Action.MANAGE_ACCOUNTS)
