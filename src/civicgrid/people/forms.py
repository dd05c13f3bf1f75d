"""Forms of the person registry pages. Identity checks reuse the services' validators so a bad
ID number (length, region, birth date, check digit) is reported on its own field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from civicgrid.core.errors import ApplicationError
from civicgrid.people.services import check_identity, normalise_phone
from civicgrid.territory.forms import NODE_SELECT_LIMIT, NodeChoiceField
from civicgrid.territory.models import Node, NodeKind
from civicgrid.territory.selectors import node_list

# Where people are registered: the administrative levels that hold residents.
RESIDENCE_KINDS = [NodeKind.TOWN, NodeKind.VILLAGE, NodeKind.GRID]


class PersonSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=50, label=_("姓名或身份证号"),
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("姓名开头或完整身份证号")}))


class UnmaskForm(forms.Form):
    reason = forms.CharField(max_length=200, label=_("查看事由"),
                             widget=forms.TextInput(attrs={"placeholder": _("例如：核对帮扶对象身份")}))


class PersonForm(forms.Form):
    """Create (with the ID number) or edit (without it) a resident."""

    id_number = forms.CharField(max_length=18, label=_("身份证号"),
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    name = forms.CharField(max_length=50, label=_("姓名"))
    phone = forms.CharField(max_length=20, required=False, label=_("联系电话"))
    address_node = NodeChoiceField(queryset=Node.objects.none(), to_field_name="code", label=_("所属网格"))
    address = forms.CharField(max_length=200, required=False, label=_("详细地址"))

    def __init__(self, *args: Any, actor: Any, with_id_number: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not with_id_number:
            del self.fields["id_number"]
        nodes = node_list(actor=actor).filter(kind__in=RESIDENCE_KINDS)
        field: Any = self.fields["address_node"]
        field.queryset = nodes.only("pk", "code", "name", "kind", "depth", "path")
        if nodes.count() > NODE_SELECT_LIMIT:
            field.widget = forms.TextInput(attrs={"placeholder": _("节点编码")})

    def clean_id_number(self) -> str:
        try:
            return check_identity(self.cleaned_data["id_number"]).value
        except ApplicationError as exc:
            raise ValidationError(exc.message) from exc

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("姓名不能为空。"))
        return str(name)

    def clean_phone(self) -> str:
        try:
            return normalise_phone(self.cleaned_data["phone"])
        except ApplicationError as exc:
            raise ValidationError(exc.message) from exc
