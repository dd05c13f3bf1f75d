"""The territory tree (网格), who answers for each node (分级包干), and which accounts may see which subtree."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class NodeKind(models.TextChoices):
    CITY = "city", _("市")
    DISTRICT = "district", _("区县/开发区")
    TOWN = "town", _("镇/街道")
    VILLAGE = "village", _("村/社区")
    GRID = "grid", _("网格")
    BRIGADE = "brigade", _("交警大队辖区")
    ZONE = "zone", _("片")
    LINE = "line", _("线")
    POST = "post", _("点段")


# Which kinds may sit under which: the administrative and the policing hierarchies.
ALLOWED_PARENT_KINDS: dict[str, frozenset[str | None]] = {
    NodeKind.CITY: frozenset({None}),
    NodeKind.DISTRICT: frozenset({None, NodeKind.CITY}),
    NodeKind.TOWN: frozenset({NodeKind.DISTRICT}),
    NodeKind.VILLAGE: frozenset({NodeKind.TOWN}),
    NodeKind.GRID: frozenset({NodeKind.VILLAGE}),
    NodeKind.BRIGADE: frozenset({NodeKind.DISTRICT}),
    NodeKind.ZONE: frozenset({NodeKind.BRIGADE}),
    NodeKind.LINE: frozenset({NodeKind.ZONE}),
    NodeKind.POST: frozenset({NodeKind.LINE}),
}


class ResponsibilityRole(models.TextChoices):
    TOWN_LEADER = "town_leader", _("包镇领导")
    VILLAGE_CADRE = "village_cadre", _("包村干部")
    GRID_WORKER = "grid_worker", _("网格员")
    HOUSEHOLD_HELPER = "household_helper", _("帮扶责任人（包户）")
    BRIGADE_HEAD = "brigade_head", _("大队长")
    ZONE_LEADER = "zone_leader", _("包片领导")
    LINE_LEADER = "line_leader", _("包线中队长")
    POST_OFFICER = "post_officer", _("包点段民警")


# The role whose current primary holder every node of the kind must have ("不漏一户，不漏一人").
REQUIRED_ROLE_BY_KIND: dict[str, str] = {
    NodeKind.TOWN: ResponsibilityRole.TOWN_LEADER,
    NodeKind.VILLAGE: ResponsibilityRole.VILLAGE_CADRE,
    NodeKind.GRID: ResponsibilityRole.GRID_WORKER,
    NodeKind.BRIGADE: ResponsibilityRole.BRIGADE_HEAD,
    NodeKind.ZONE: ResponsibilityRole.ZONE_LEADER,
    NodeKind.LINE: ResponsibilityRole.LINE_LEADER,
    NodeKind.POST: ResponsibilityRole.POST_OFFICER,
}


class Node(models.Model):
    """A node of the territory tree. `path` is the materialised path of ids, e.g. `/1/4/17/`,
    so a subtree is one indexed prefix match."""

    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=NodeKind.choices)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    path = models.CharField(_("路径"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("层级"), default=0, editable=False)
    geometry = models.JSONField(_("空间范围(GeoJSON)"), null=True, blank=True)
    min_lon = models.FloatField(null=True, blank=True, editable=False)
    min_lat = models.FloatField(null=True, blank=True, editable=False)
    max_lon = models.FloatField(null=True, blank=True, editable=False)
    max_lat = models.FloatField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("有效"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["path"]
        verbose_name = _("网格节点")
        verbose_name_plural = _("网格节点")
        indexes = [
            models.Index(fields=["path"], name="territory_node_path_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"], name="territory_node_bbox"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_path(self) -> str:
        return self.path


class Assignment(models.Model):
    """Person × node × role × period. End dates are exclusive; a current assignment has no end."""

    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, related_name="assignments", verbose_name=_("责任人")
    )
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("网格节点"))
    role = models.CharField(_("包干角色"), max_length=32, choices=ResponsibilityRole.choices)
    is_primary = models.BooleanField(_("第一责任人"), default=True)
    valid_from = models.DateField(_("起始日期"))
    valid_to = models.DateField(_("终止日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["node__path", "role", "-valid_from"]
        verbose_name = _("包干责任")
        verbose_name_plural = _("包干责任")
        constraints = [
            models.UniqueConstraint(
                fields=["node", "role"],
                condition=Q(is_primary=True, valid_to__isnull=True),
                name="territory_one_current_primary_per_node_role",
                violation_error_message=_("该节点该角色已有现任第一责任人。"),
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")),
                name="territory_assignment_period_order",
                violation_error_message=_("终止日期须晚于起始日期。"),
            ),
        ]
        indexes = [models.Index(fields=["node", "role", "valid_from"], name="territory_assignment_period")]

    def __str__(self) -> str:
        return f"{self.node} {self.get_role_display()}"

    @property
    def scope_path(self) -> str:
        return self.node.path


class Grant(models.Model):
    """Data scope (数据范围): an account may act on the subtree under `node`, as its role allows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="grants")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="grants", verbose_name=_("网格节点"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("数据范围授权")
        verbose_name_plural = _("数据范围授权")
        constraints = [models.UniqueConstraint(fields=["user", "node"], name="territory_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.node}"

    @property
    def scope_path(self) -> str:
        return self.node.path
