"""Password and account-name rules (等保 8.1.4.1a, 8.1.4.2)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

RESERVED_USERNAMES = frozenset({"admin", "root", "administrator", "sa", "system", "superuser", "test", "guest"})


class CharacterClassValidator:
    """At least three of four character classes: upper case, lower case, digit, symbol."""

    classes = (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z0-9]")

    def validate(self, password: str, user: object = None) -> None:
        present = sum(1 for pattern in self.classes if re.search(pattern, password))
        if present < 3:
            raise ValidationError(
                _("密码须包含大写字母、小写字母、数字、符号中的至少三类。"), code="password_too_simple"
            )

    def get_help_text(self) -> str:
        return _("密码须包含大写字母、小写字母、数字、符号中的至少三类。")


def validate_not_reserved_username(value: str) -> None:
    """Default and shared account names are not allowed (R8): every account is a named person."""
    if value.strip().lower() in RESERVED_USERNAMES:
        raise ValidationError(_("账号名“%(name)s”为系统保留名，请使用实名账号。"), params={"name": value})
