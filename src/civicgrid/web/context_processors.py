"""Navigation entries shown to the signed-in user, by what the role allows."""

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.roles import Action

NAVIGATION = [
    ("territory:tree", _("网格与地图"), Action.VIEW_TERRITORY),
    ("territory:coverage", _("包干覆盖"), Action.VIEW_TERRITORY),
    ("territory:assignments", _("包干责任"), Action.VIEW_TERRITORY),
    ("people:list", _("人员库"), Action.VIEW_PEOPLE),
    ("cases:my", _("我的问题"), Action.VIEW_CASES),
    ("cases:area", _("辖区问题"), Action.VIEW_CASES),
    ("cases:inspections", _("测评检查"), Action.INSPECT),
    ("cases:standards", _("测评体系"), Action.VIEW_CASES),
    ("indicators:dashboard", _("指标看板"), Action.VIEW_INDICATORS),
    ("ingest:list", _("数据导入"), Action.IMPORT),
    ("web:audit", _("审计日志"), Action.VIEW_AUDIT),
    ("web:jobs", _("定时任务"), Action.VIEW_JOBS),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    items = []
    for name, label, action in NAVIGATION:
        if user.can(action):
            try:
                items.append({"url": reverse(name), "label": label, "name": name})
            except Exception:  # noqa: S112 - a module not yet wired simply does not show
                continue
    return {"navigation": items}
