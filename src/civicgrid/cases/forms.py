"""Forms of the cases pages. They parse and validate input; choices come from scoped selectors, so a
value outside the user's scope is simply not a valid choice. They never write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.cases import selectors
from civicgrid.cases.models import (
    Case,
    CaseSource,
    CaseStatus,
    Inspection,
    ScoringRule,
    Severity,
    StandardItem,
    StandardVersion,
)
from civicgrid.people.models import Person
from civicgrid.territory.models import Node
from civicgrid.territory.selectors import node_choices, node_list

NO_NUL = [ProhibitNullCharactersValidator()]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NodeChoiceField(forms.ModelChoiceField):
    """A node picker indented by depth."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{'　' * obj.depth}{obj.name}（{obj.code}）"


class PersonChoiceField(forms.ModelChoiceField):
    """People holding a responsibility in scope, by name (no identity numbers)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.standard.name}（{obj.standard.code} v{obj.number}）"


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Zero or more photos (the services check each one's content and size)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/jpeg,image/png,image/webp",
                                                             "capture": "environment"}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class CoordinatesMixin(forms.Form):
    lon = forms.FloatField(required=False, min_value=-180, max_value=180, label=_("经度"),
                           widget=forms.NumberInput(attrs={"step": "any", "class": "geo-lon"}))
    lat = forms.FloatField(required=False, min_value=-90, max_value=90, label=_("纬度"),
                           widget=forms.NumberInput(attrs={"step": "any", "class": "geo-lat"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise forms.ValidationError(_("经度和纬度须同时填写。"))
        return data


STATUS_FILTER_CHOICES = [("", _("全部状态")), (selectors.ACTIVE, _("未办结")), *CaseStatus.choices]


class CaseFilterForm(forms.Form):
    status = forms.ChoiceField(choices=STATUS_FILTER_CHOICES, required=False, label=_("状态"))
    category = forms.ChoiceField(choices=(), required=False, label=_("类别"))
    severity = forms.ChoiceField(choices=[("", _("全部")), *Severity.choices], required=False, label=_("严重程度"))
    source = forms.ChoiceField(choices=[("", _("全部来源")), *CaseSource.choices], required=False, label=_("来源"))
    node = NodeChoiceField(queryset=Node.objects.none(), required=False, label=_("范围"), empty_label=_("全部数据范围"))
    overdue = forms.BooleanField(required=False, label=_("仅看逾期"))
    q = forms.CharField(required=False, max_length=50, label=_("关键词"), validators=NO_NUL)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = node_choices(actor=actor)  # type: ignore[attr-defined]
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", _("全部类别")), *((c, c) for c in selectors.case_categories(actor=actor))
        ]

    def filters(self) -> selectors.CaseFilters:
        """The valid filters (an invalid field is ignored, as if not given)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return selectors.CaseFilters(
            status=data.get("status") or "", category=data.get("category") or "", severity=data.get("severity") or "",
            source=data.get("source") or "", node=data.get("node"), overdue=bool(data.get("overdue")),
            search=(data.get("q") or "").strip(),
        )


class VersionForm(forms.Form):
    """Every change of a case carries the version the user saw (optimistic locking)."""

    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)


class NoteForm(VersionForm):
    note = forms.CharField(required=False, max_length=2000, label=_("说明"), widget=forms.Textarea(attrs={"rows": 2}),
                           validators=NO_NUL)


class ReasonForm(VersionForm):
    reason = forms.CharField(max_length=200, label=_("原因"), validators=NO_NUL)


class SubmitForm(CoordinatesMixin, NoteForm):
    photos = PhotosField(label=_("整改后照片"))


class AssignForm(NoteForm):
    person = PersonChoiceField(queryset=Person.objects.none(), required=False, label=_("分派给"),
                               empty_label=_("按包干责任自动分派"))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = selectors.assignable_people(actor=actor)  # type: ignore[attr-defined]


class BulkAssignForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(queryset=Case.objects.none(), label=_("问题"))
    person = PersonChoiceField(queryset=Person.objects.none(), required=False, label=_("分派给"),
                               empty_label=_("按包干责任自动分派"))
    note = forms.CharField(required=False, max_length=200, label=_("说明"), validators=NO_NUL)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = selectors.case_list(actor=actor, queue="area")  # type: ignore[attr-defined]
        self.fields["person"].queryset = selectors.assignable_people(actor=actor)  # type: ignore[attr-defined]


class CaseCreateForm(forms.Form):
    node = NodeChoiceField(queryset=Node.objects.none(), label=_("所属网格"))
    title = forms.CharField(max_length=200, label=_("问题"), validators=NO_NUL)
    category = forms.CharField(max_length=50, label=_("类别"), validators=NO_NUL)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM, label=_("严重程度"))
    source = forms.ChoiceField(choices=[c for c in CaseSource.choices if c[0] != CaseSource.INSPECTION],
                               initial=CaseSource.MANUAL, label=_("来源"))
    deadline = forms.DateField(label=_("整改期限"), widget=DATE_WIDGET)
    description = forms.CharField(required=False, max_length=2000, label=_("问题描述"),
                                  widget=forms.Textarea(attrs={"rows": 3}), validators=NO_NUL)
    photos = PhotosField(label=_("现场照片"))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = node_list(actor=actor).order_by("path")  # type: ignore[attr-defined]


class InspectionCreateForm(forms.Form):
    version = VersionChoiceField(queryset=StandardVersion.objects.none(), label=_("测评体系"))
    node = NodeChoiceField(queryset=Node.objects.none(), label=_("检查对象"))
    inspected_on = forms.DateField(label=_("检查日期"), widget=DATE_WIDGET)
    note = forms.CharField(required=False, max_length=500, label=_("备注"), validators=NO_NUL)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = selectors.published_versions(actor=actor)  # type: ignore[attr-defined]
        self.fields["node"].queryset = node_list(actor=actor).order_by("path")  # type: ignore[attr-defined]
        self.fields["inspected_on"].initial = timezone.localdate()


OUTCOME_CHOICES = [("pass", _("合格")), ("fail", _("不合格")), ("na", _("不适用"))]


class ResultForm(CoordinatesMixin, forms.Form):
    """One item's result; which value is needed depends on the item's scoring rule."""

    item = forms.ModelChoiceField(queryset=StandardItem.objects.none(), widget=forms.HiddenInput)
    outcome = forms.ChoiceField(choices=OUTCOME_CHOICES, required=False, label=_("结果"), widget=forms.RadioSelect)
    points = forms.DecimalField(required=False, min_value=Decimal("0"), max_value=Decimal("9999"), decimal_places=2,
                                label=_("得分"))
    measured = forms.DecimalField(required=False, max_digits=14, decimal_places=3, label=_("实测值"))
    not_applicable = forms.BooleanField(required=False, label=_("不适用"))
    note = forms.CharField(required=False, max_length=500, label=_("情况说明"), validators=NO_NUL)
    photos = PhotosField(label=_("现场照片"))

    def __init__(self, *args: Any, inspection: Inspection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = inspection.version.items.all()  # type: ignore[attr-defined]

    def result_values(self) -> dict[str, Any]:
        """Keyword arguments for inspection_record_result (the service checks them against the rule)."""
        data = self.cleaned_data
        item: StandardItem = data["item"]
        values: dict[str, Any] = {"not_applicable": bool(data.get("not_applicable")) or data.get("outcome") == "na"}
        if item.rule == ScoringRule.PASS_FAIL and data.get("outcome") in ("pass", "fail"):
            values["passed"] = data["outcome"] == "pass"
        elif item.rule == ScoringRule.POINTS:
            values["points"] = data.get("points")
        elif item.rule == ScoringRule.MEASURED:
            values["measured"] = data.get("measured")
        return values


class CompleteForm(forms.Form):
    deadline = forms.DateField(label=_("整改期限"), widget=DATE_WIDGET)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM, label=_("问题严重程度"))


class StandardImportForm(forms.Form):
    code = forms.CharField(max_length=32, label=_("体系编码"), validators=NO_NUL)
    name = forms.CharField(max_length=100, required=False, label=_("体系名称（新体系必填）"), validators=NO_NUL)
    effective_from = forms.DateField(label=_("生效日期"), widget=DATE_WIDGET)
    note = forms.CharField(max_length=200, required=False, label=_("版本说明"), validators=NO_NUL)
    file = forms.FileField(label=_("Excel 文件"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"}))


class CopyForm(forms.Form):
    effective_from = forms.DateField(label=_("新版本生效日期"), widget=DATE_WIDGET)
