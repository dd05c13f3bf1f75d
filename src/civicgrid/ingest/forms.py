"""The upload form of the import page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.roles import Action
from civicgrid.ingest.registry import schemas


def schema_choices_for(actor: Any) -> list[tuple[str, str]]:
    """Registries the actor's role may import into."""
    return [
        (schema.name, str(schema.label))
        for schema in schemas()
        if schema.required_action is None or actor.can(Action(schema.required_action))
    ]


class ImportForm(forms.Form):
    schema = forms.ChoiceField(label=_("导入到"), choices=())
    file = forms.FileField(
        label=_("文件"),
        help_text=_("Excel（.xlsx、.xls）或 CSV（UTF-8 / GBK）；网格空间范围用 GeoJSON。"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv,.geojson,.json"}),
    )
    sheet = forms.CharField(
        label=_("只导入工作表"), required=False, max_length=100,
        help_text=_("留空则导入所有表头匹配的工作表（例如每村一个工作表）。"),
    )
    dry_run = forms.BooleanField(label=_("预检（只检查，不写入）"), required=False)

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["schema"]
        field.choices = schema_choices_for(actor)
