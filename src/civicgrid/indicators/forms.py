"""The indicator definition form: parses input (formulas as JSON); the service validates the
formula against the registered sources and saves. A built-in's formula fields are shown, not edited."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.indicators.models import DIRECTION_CHOICES, PERIOD_CHOICES, UNIT_CHOICES, Indicator
from civicgrid.indicators.selectors import indicator_node_choices
from civicgrid.indicators.services import BUILTIN_OWNED

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
FORMULA_WIDGET = forms.Textarea(attrs={"rows": 6, "class": "formula", "spellcheck": "false"})


class IndicatorForm(forms.Form):
    code = forms.SlugField(label=_("指标编码"), max_length=64, help_text=_("字母、数字、下划线，如 plate_rate。"))
    name = forms.CharField(label=_("指标名称"), max_length=100)
    description = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    unit = forms.ChoiceField(label=_("单位"), choices=UNIT_CHOICES)
    numerator = forms.JSONField(label=_("分子（JSON）"), widget=FORMULA_WIDGET)
    denominator = forms.JSONField(label=_("分母（JSON，单位为“数量”时留空）"), required=False, widget=FORMULA_WIDGET)
    target = forms.DecimalField(label=_("目标值"), required=False, max_digits=14, decimal_places=4)
    direction = forms.ChoiceField(label=_("方向"), choices=DIRECTION_CHOICES)
    period = forms.ChoiceField(label=_("统计周期"), choices=PERIOD_CHOICES)
    region_code = forms.ChoiceField(label=_("适用区域"), required=False, choices=[])
    valid_from = forms.DateField(label=_("启用日期"), required=False, widget=DATE_WIDGET)
    valid_to = forms.DateField(label=_("停用日期"), required=False, widget=DATE_WIDGET)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    order = forms.IntegerField(label=_("排序"), min_value=0, max_value=32767, initial=100)

    def __init__(self, *args: Any, actor: Any, instance: Indicator | None = None, **kwargs: Any) -> None:
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {name: getattr(instance, name) for name in self.base_fields}
        super().__init__(*args, **kwargs)
        self.instance = instance
        # Regions are picked among the nodes of the administrator's scope (the current one is kept).
        regions = [("", _("全部（不限区域）"))] + [
            (node.code, f"{'　' * node.depth}{node.name}（{node.code}）") for node in indicator_node_choices(actor=actor)
        ]
        if instance is not None and instance.region_code and instance.region_code not in {code for code, _l in regions}:
            regions.append((instance.region_code, instance.region_code))
        self.fields["region_code"].choices = regions  # type: ignore[attr-defined]
        if instance is not None:
            self.fields["code"].disabled = True
            if instance.is_builtin:
                for name in BUILTIN_OWNED:
                    self.fields[name].disabled = True
        for name in ("numerator", "denominator"):
            field = self.fields[name]
            field.widget.attrs["placeholder"] = json.dumps(
                {"source": "cases.case", "aggregate": "count", "date_field": "deadline", "filters": {}}, ensure_ascii=False
            )

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).replace("-", "_")
