"""The shared person registry (人员库): one row per resident ID number."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

MINOR_AGE = 14  # PIPL Art. 28: all personal information of children under 14 is sensitive


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Person(models.Model):
    """A resident. Sex and birth date are derived from the ID number and must agree with it."""

    # Unique through Meta.constraints, not unique=True: on PostgreSQL a unique CharField also gets a
    # LIKE twin index that no query uses, and every extra index slows million-row imports.
    id_number = models.CharField(_("身份证号"), max_length=18)
    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    address_node = models.ForeignKey(
        "territory.Node", on_delete=models.PROTECT, related_name="residents", verbose_name=_("所属网格")
    )
    # Copy of address_node.path so scoped lists over a million people need no join.
    scope_path = models.CharField(max_length=255, editable=False)  # indexed once, by pattern, in Meta
    address = models.CharField(_("详细地址"), max_length=200, blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="person",
        verbose_name=_("关联账号"),
    )
    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True)
    deleted_reason = models.CharField(_("删除原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["scope_path", "updated_at"])

    class Meta:
        ordering = ["scope_path", "name", "id"]
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        indexes = [
            models.Index(fields=["scope_path"], name="people_person_scope_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["name"], name="people_person_name", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"], name="people_person_id_number_unique",
                violation_error_message=_("该身份证号已在人员库中。"),
            ),
            models.CheckConstraint(condition=Q(sex__in=["M", "F"]), name="people_person_sex_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: dt.date) -> int:
        """Completed years on a day."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def is_minor(self) -> bool:
        """Under 14 today, from the birth date encoded in the ID number."""
        return self.age_on(timezone.localdate()) < MINOR_AGE
