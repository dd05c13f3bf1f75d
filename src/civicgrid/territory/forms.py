"""Forms of the territory pages. They parse and validate input; choices come from scoped selectors,
so a value outside the user's scope is simply not a valid choice. They never write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.people.display import person_option_label
from civicgrid.people.models import Person
from civicgrid.people.selectors import person_list
from civicgrid.territory.models import Node, ResponsibilityRole
from civicgrid.territory.selectors import node_choices, node_list

# Above this many nodes a <select> gets unwieldy; the form then asks for the node code instead.
NODE_SELECT_LIMIT = 500
PERSON_OPTIONS_LIMIT = 20


class NodeChoiceField(forms.ModelChoiceField):
    """A node picker keyed by code, indented by depth."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{'　' * obj.depth}{obj.name}（{obj.code}）"


class PersonChoiceField(forms.ModelChoiceField):
    """A person picker whose options are only the search results (never the whole registry)."""

    def __init__(self, *args: Any, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def label_from_instance(self, obj: Any) -> str:
        return person_option_label(obj, actor=self.actor)


class CoverageFilterForm(forms.Form):
    node = NodeChoiceField(queryset=Node.objects.none(), required=False, to_field_name="pk", label=_("范围"),
                           empty_label=_("全部数据范围"))
    on = forms.DateField(required=False, label=_("统计日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = node_choices(actor=actor)  # type: ignore[attr-defined]


PERIOD_CHOICES = [("current", _("现任")), ("on", _("指定日期在任")), ("all", _("全部（含历史）"))]


class AssignmentFilterForm(forms.Form):
    node = NodeChoiceField(queryset=Node.objects.none(), required=False, label=_("范围"),
                           empty_label=_("全部数据范围"))
    role = forms.ChoiceField(choices=[("", _("全部角色")), *ResponsibilityRole.choices], required=False,
                             label=_("包干角色"))
    period = forms.ChoiceField(choices=PERIOD_CHOICES, required=False, label=_("时段"))
    on = forms.DateField(required=False, label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = node_choices(actor=actor)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("period") == "on" and not data.get("on"):
            self.add_error("on", _("请选择日期。"))
        return data


class AssignmentForm(forms.Form):
    node = NodeChoiceField(queryset=Node.objects.none(), to_field_name="code", label=_("网格节点"))
    person = PersonChoiceField(queryset=Person.objects.none(), label=_("责任人"))
    role = forms.ChoiceField(choices=ResponsibilityRole.choices, label=_("包干角色"))
    valid_from = forms.DateField(label=_("起始日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    is_primary = forms.BooleanField(required=False, initial=True, label=_("第一责任人"))
    note = forms.CharField(required=False, max_length=200, label=_("备注"))

    def __init__(
        self, *args: Any, actor: Any, root: Node | None = None, person_search: str = "", **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"valid_from": timezone.localdate(), "is_primary": True})
        super().__init__(*args, **kwargs)
        nodes = node_list(actor=actor, root=root).only("pk", "code", "name", "kind", "depth", "path")
        node_field: Any = self.fields["node"]
        node_field.queryset = nodes
        if nodes.count() > NODE_SELECT_LIMIT:
            node_field.widget = forms.TextInput(attrs={"placeholder": _("节点编码")})
        person_field: Any = self.fields["person"]
        person_field.actor = actor
        person_field.queryset = person_list(actor=actor)
        # Options: the people found by the search, plus the one already chosen (when re-rendering).
        options = list(person_list(actor=actor, search=person_search)[:PERSON_OPTIONS_LIMIT]) if person_search else []
        chosen = self.data.get(self.add_prefix("person")) if self.is_bound else None
        if chosen and str(chosen).isdigit() and all(str(option.pk) != str(chosen) for option in options):
            options += list(person_list(actor=actor).filter(pk=chosen))
        person_field.widget.choices = [("", _("请先搜索人员"))] + [
            (option.pk, person_option_label(option, actor=actor)) for option in options
        ]


class AssignmentEndForm(forms.Form):
    valid_to = forms.DateField(label=_("终止日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class LocateForm(forms.Form):
    lon = forms.FloatField(min_value=-180, max_value=180, label=_("经度"))
    lat = forms.FloatField(min_value=-90, max_value=90, label=_("纬度"))
