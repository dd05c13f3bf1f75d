"""Forms of the account pages. They parse input; node choices come from the administrator's own scope,
so a node outside it is not a valid choice. They never write (accounts.administration.services does)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.administration.selectors import (
    STATUS_ACTIVE,
    STATUS_INACTIVE,
    STATUS_LOCKED,
    STATUS_MUST_CHANGE,
    grantable_nodes,
)
from civicgrid.accounts.roles import Role
from civicgrid.territory.models import Node

# Above this many nodes a <select> gets unwieldy; the form then asks for node codes instead.
NODE_SELECT_LIMIT = 500


def _node_label(node: Node) -> str:
    return f"{'　' * node.depth}{node.name}（{node.code}）"


class NodeCodesField(forms.Field):
    """One or more territory nodes of the administrator's scope: picked from a list, or typed as codes
    (separated by spaces, commas or new lines) when the scope holds too many nodes for a list."""

    def __init__(self, *args: Any, multiple: bool = True, **kwargs: Any) -> None:
        self.multiple = multiple
        super().__init__(*args, **kwargs)
        self.nodes: QuerySet[Node] = Node.objects.none()

    def use(self, nodes: QuerySet[Node]) -> None:
        """Offer these nodes: a list when there are few, a text box for codes otherwise."""
        self.nodes = nodes
        if nodes.count() > NODE_SELECT_LIMIT:
            self.widget = forms.Textarea(attrs={"rows": 2, "placeholder": _("节点编码，多个用空格或逗号分隔")})
        else:
            choices = [(node.code, _node_label(node)) for node in nodes]
            if self.multiple:
                self.widget = forms.SelectMultiple(choices=choices, attrs={"size": min(max(len(choices), 4), 12)})
            else:
                self.widget = forms.Select(choices=[("", "—"), *choices])

    def to_python(self, value: Any) -> list[str]:
        if value in self.empty_values:
            return []
        raw = value if isinstance(value, list | tuple) else re.split(r"[\s,，、]+", str(value))
        return [str(code).strip()[:32] for code in raw if str(code).strip()]

    def clean(self, value: Any) -> Any:
        codes = list(dict.fromkeys(self.to_python(value)))
        if not codes:
            if self.required:
                raise forms.ValidationError(_("请选择网格节点。"), code="required")
            return [] if self.multiple else None
        if not self.multiple and len(codes) > 1:
            raise forms.ValidationError(_("只能选择一个网格节点。"), code="too_many")
        found = {node.code: node for node in self.nodes.filter(code__in=codes)}
        missing = [code for code in codes if code not in found]
        if missing:
            raise forms.ValidationError(
                _("网格节点 %(codes)s 不存在或不在您的数据范围内。"), code="outside", params={"codes": "、".join(missing)}
            )
        nodes = [found[code] for code in codes]
        return nodes if self.multiple else nodes[0]


class AccountFilterForm(forms.Form):
    role = forms.ChoiceField(choices=[("", _("全部角色")), *Role.choices], required=False, label=_("角色"))
    status = forms.ChoiceField(
        choices=[
            ("", _("全部状态")),
            (STATUS_ACTIVE, _("启用")),
            (STATUS_INACTIVE, _("已停用")),
            (STATUS_LOCKED, _("已锁定")),
            (STATUS_MUST_CHANGE, _("待修改临时密码")),
        ],
        required=False,
        label=_("状态"),
    )
    q = forms.CharField(required=False, max_length=50, label=_("搜索"),
                        widget=forms.TextInput(attrs={"placeholder": _("账号、姓名或部门")}))

    def clean_q(self) -> str:
        return str(self.cleaned_data.get("q") or "").replace("\x00", "").strip()


class AccountForm(forms.Form):
    """Display name, role and department: the fields of both the create and the edit page."""

    display_name = forms.CharField(max_length=50, label=_("姓名"))
    role = forms.ChoiceField(choices=Role.choices, label=_("角色"))
    department = forms.CharField(max_length=50, required=False, label=_("所属部门"),
                                 help_text=_("部门经办人必填，例如：莘县残疾人联合会。"))

    def clean_display_name(self) -> str:
        return str(self.cleaned_data["display_name"]).replace("\x00", "").strip()

    def clean_department(self) -> str:
        return str(self.cleaned_data.get("department") or "").replace("\x00", "").strip()


class AccountCreateForm(AccountForm):
    username = forms.CharField(max_length=150, label=_("账号"),
                               help_text=_("实名账号，例如 zhang.wei；不能使用 admin、root 等保留名。"))
    nodes = NodeCodesField(label=_("数据范围"), required=False,
                           help_text=_("账号可查看和办理的网格节点（含下级）；审计员可不授权。"))
    id_number = forms.CharField(max_length=18, required=False, label=_("关联人员身份证号"),
                                help_text=_("可选：工作人员账号关联其人员库记录，须输入完整身份证号。"),
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))

    field_order = ["username", "display_name", "role", "department", "nodes", "id_number"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nodes_field: Any = self.fields["nodes"]
        nodes_field.use(grantable_nodes(actor=actor))

    def clean_username(self) -> str:
        return str(self.cleaned_data["username"]).replace("\x00", "").strip()

    def clean_id_number(self) -> str:
        return str(self.cleaned_data.get("id_number") or "").replace("\x00", "").strip()


class GrantForm(forms.Form):
    node = NodeCodesField(label=_("网格节点"), multiple=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        node_field: Any = self.fields["node"]
        node_field.use(grantable_nodes(actor=actor))


class LinkPersonForm(forms.Form):
    id_number = forms.CharField(max_length=18, label=_("身份证号"),
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_id_number(self) -> str:
        return str(self.cleaned_data["id_number"]).replace("\x00", "").strip()
