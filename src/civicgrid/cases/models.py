"""Standards (测评体系), inspections (检查/测评) and the rectification loop (问题 → 整改 → 销号).

A standard is global catalogue data: versioned checklists of items with scoring rules; a published
version never changes (a change is a new version). An inspection applies one published version to
one node; each failed item becomes a Case. Every finding, whatever its source, is one Case row with
its node's `scope_path` copied for join-free scoping, an optimistic-lock `version`, and an audited
history of CaseEvent rows."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.core.errors import ApplicationError

PUBLISHED_IS_IMMUTABLE: str = _("已发布的测评体系版本不能修改，请复制为新版本")  # type: ignore[assignment]  # lazy: rendered in the reader's language


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")


class ScoringRule(models.TextChoices):
    PASS_FAIL = "pass_fail", _("合格/不合格")
    POINTS = "points", _("计分")
    MEASURED = "measured", _("实测值")


class Comparison(models.TextChoices):
    GTE = "gte", "≥"
    LTE = "lte", "≤"
    EQ = "eq", "="


class Standard(models.Model):
    """A checklist family (e.g. 文明交通路口测评), identified by a code; its content lives in versions."""

    code = models.CharField(_("体系编码"), max_length=32, unique=True)
    name = models.CharField(_("体系名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("测评体系")
        verbose_name_plural = _("测评体系")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class StandardVersion(models.Model):
    """One version of a standard. Drafts may change; a published version is immutable."""

    standard = models.ForeignKey(Standard, on_delete=models.PROTECT, related_name="versions", verbose_name=_("测评体系"))
    number = models.PositiveIntegerField(_("版本号"))
    effective_from = models.DateField(_("生效日期"))
    status = models.CharField(_("状态"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    note = models.CharField(_("版本说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("创建人"),
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("发布人"),
    )

    class Meta:
        ordering = ["standard__code", "-number"]
        verbose_name = _("测评体系版本")
        verbose_name_plural = _("测评体系版本")
        constraints = [
            models.UniqueConstraint(fields=["standard", "number"], name="cases_version_number_unique"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False), name="cases_published_version_has_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.standard.code} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED


class StandardSection(models.Model):
    """A chapter (章节) of a version; items are grouped under it."""

    version = models.ForeignKey(StandardVersion, on_delete=models.CASCADE, related_name="sections")
    order = models.PositiveIntegerField(_("顺序"))
    title = models.CharField(_("章节"), max_length=100)

    class Meta:
        ordering = ["version", "order"]
        verbose_name = _("测评章节")
        verbose_name_plural = _("测评章节")
        constraints = [models.UniqueConstraint(fields=["version", "title"], name="cases_section_title_unique")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        if StandardVersion.objects.filter(pk=self.version_id, status=VersionStatus.PUBLISHED).exists():
            raise ApplicationError(PUBLISHED_IS_IMMUTABLE)
        super().save(*args, **kwargs)


class StandardItem(models.Model):
    """One checklist item with its scoring rule. `points` is the item's weight: the score of an
    inspection is Σ points awarded ÷ Σ points of the applicable items. `applies_to` lists the
    territory NodeKind values the item is checked at."""

    version = models.ForeignKey(StandardVersion, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(StandardSection, on_delete=models.CASCADE, related_name="items")
    code = models.CharField(_("编号"), max_length=20)
    order = models.PositiveIntegerField(_("顺序"))
    title = models.CharField(_("检查项目"), max_length=200)
    criteria = models.TextField(_("检查内容与评分标准"), blank=True)
    rule = models.CharField(_("评分方式"), max_length=16, choices=ScoringRule.choices)
    points = models.DecimalField(_("分值"), max_digits=6, decimal_places=2)
    comparison = models.CharField(_("比较"), max_length=8, choices=Comparison.choices, blank=True)
    threshold = models.DecimalField(_("阈值"), max_digits=14, decimal_places=3, null=True, blank=True)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    applies_to = models.JSONField(_("适用类型"), default=list)

    class Meta:
        ordering = ["version", "order"]
        verbose_name = _("测评项目")
        verbose_name_plural = _("测评项目")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="cases_item_code_unique"),
            models.CheckConstraint(condition=Q(points__gt=0), name="cases_item_points_positive"),
            models.CheckConstraint(
                condition=~Q(rule="measured") | (Q(threshold__isnull=False) & ~Q(comparison="")),
                name="cases_measured_item_has_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if StandardVersion.objects.filter(pk=self.version_id, status=VersionStatus.PUBLISHED).exists():
            raise ApplicationError(PUBLISHED_IS_IMMUTABLE)
        super().save(*args, **kwargs)

    def applies_to_kind(self, kind: str) -> bool:
        """Whether the item is checked at nodes of this kind."""
        return kind in (self.applies_to or [])


class InspectionStatus(models.TextChoices):
    RECORDING = "recording", _("记录中")
    COMPLETED = "completed", _("已完成")


class Inspection(models.Model):
    """One application of a published standard version to one node on a date by an inspector."""

    version = models.ForeignKey(
        StandardVersion, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("测评体系版本")
    )
    node = models.ForeignKey("territory.Node", on_delete=models.PROTECT, related_name="inspections",
                             verbose_name=_("检查对象"))
    scope_path = models.CharField(max_length=255, editable=False)
    inspected_on = models.DateField(_("检查日期"))
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inspections", verbose_name=_("检查人")
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=InspectionStatus.choices, default=InspectionStatus.RECORDING
    )
    note = models.CharField(_("备注"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    score_achieved = models.DecimalField(_("得分"), max_digits=8, decimal_places=2, null=True, blank=True)
    score_max = models.DecimalField(_("满分"), max_digits=8, decimal_places=2, null=True, blank=True)
    score_percent = models.DecimalField(_("得分率"), max_digits=5, decimal_places=1, null=True, blank=True)
    items_checked = models.PositiveIntegerField(_("检查项数"), default=0)
    items_passed = models.PositiveIntegerField(_("合格项数"), default=0)
    items_failed = models.PositiveIntegerField(_("不合格项数"), default=0)
    items_not_applicable = models.PositiveIntegerField(_("不适用项数"), default=0)

    class Meta:
        ordering = ["-inspected_on", "-id"]
        verbose_name = _("测评检查")
        verbose_name_plural = _("测评检查")
        indexes = [
            models.Index(fields=["scope_path"], name="cases_inspection_scope_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["inspected_on"], name="cases_inspection_day"),
        ]

    def __str__(self) -> str:
        return f"{self.node} {self.inspected_on:%Y-%m-%d}"

    @property
    def pass_rate(self) -> float | None:
        """Passed ÷ checked items (not-applicable items excluded), in percent."""
        if not self.items_checked:
            return None
        return round(100 * self.items_passed / self.items_checked, 1)

    @property
    def is_completed(self) -> bool:
        return self.status == InspectionStatus.COMPLETED


class InspectionResult(models.Model):
    """The result of one item in one inspection; `passed` is None for an item marked not applicable."""

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="results")
    item = models.ForeignKey(StandardItem, on_delete=models.PROTECT, related_name="results")
    not_applicable = models.BooleanField(_("不适用"), default=False)
    passed = models.BooleanField(_("合格"), null=True, blank=True)
    measured_value = models.DecimalField(_("实测值"), max_digits=14, decimal_places=3, null=True, blank=True)
    points_awarded = models.DecimalField(_("得分"), max_digits=6, decimal_places=2, default=0)
    points_max = models.DecimalField(_("满分"), max_digits=6, decimal_places=2, default=0)
    note = models.CharField(_("情况说明"), max_length=500, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("记录时间"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["inspection", "item__order"]
        verbose_name = _("检查结果")
        verbose_name_plural = _("检查结果")
        constraints = [models.UniqueConstraint(fields=["inspection", "item"], name="cases_result_once_per_item")]

    def __str__(self) -> str:
        return f"{self.inspection} {self.item.code}"


class CaseStatus(models.TextChoices):
    OPEN = "open", _("待分派")
    ASSIGNED = "assigned", _("已分派")
    IN_PROGRESS = "in_progress", _("整改中")
    SUBMITTED = "submitted", _("待核查")
    CLOSED = "closed", _("已销号")
    CANCELLED = "cancelled", _("已撤销")


# Statuses in which a case is still someone's work (and can run late).
ACTIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.SUBMITTED)
# Statuses whose deadline clock runs: a submitted fix waits for the verifier, not for the handler.
OVERDUE_STATUSES = (CaseStatus.OPEN, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS)


class CaseSource(models.TextChoices):
    INSPECTION = "inspection", _("测评检查")
    COVERAGE_GAP = "coverage_gap", _("包干缺口")
    RECONCILIATION = "reconciliation", _("部门比对")
    VIOLATION = "violation", _("违法违规")
    OBSERVATION = "observation", _("现场观测")
    MANUAL = "manual", _("人工登记")
    CITIZEN_REPORT = "citizen_report", _("群众反映")


class Severity(models.TextChoices):
    LOW = "low", _("一般")
    MEDIUM = "medium", _("较重")
    HIGH = "high", _("严重")
    CRITICAL = "critical", _("重大")


class Case(models.Model):
    """One finding to be fixed (问题), whatever its source, routed to the node's responsible person."""

    node = models.ForeignKey("territory.Node", on_delete=models.PROTECT, related_name="cases", verbose_name=_("所属网格"))
    # Copy of node.path so scoped lists need no join (and survive a re-drawn tree as history).
    scope_path = models.CharField(max_length=255, editable=False)
    title = models.CharField(_("问题"), max_length=200)
    category = models.CharField(_("类别"), max_length=50)
    source = models.CharField(_("来源"), max_length=20, choices=CaseSource.choices)
    source_ref = models.CharField(_("来源编号"), max_length=100, blank=True)
    inspection_result = models.OneToOneField(
        InspectionResult, on_delete=models.PROTECT, null=True, blank=True, related_name="case",
        verbose_name=_("来源检查项"),
    )
    description = models.TextField(_("问题描述"), blank=True)
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(_("状态"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)

    responsible_person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="cases",
        verbose_name=_("责任人"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_cases",
        verbose_name=_("承办账号"),
    )
    needs_triage = models.BooleanField(_("待分拣"), default=False)
    triage_reason = models.CharField(_("分拣原因"), max_length=200, blank=True)

    escalation_level = models.PositiveSmallIntegerField(_("督办层级"), default=0)
    escalated_to_person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="escalated_cases",
        verbose_name=_("督办责任人"),
    )
    escalated_to_account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="escalated_cases",
        verbose_name=_("督办账号"),
    )
    escalated_at = models.DateTimeField(_("升级时间"), null=True, blank=True)
    escalation_exhausted = models.BooleanField(_("已升至最高层级"), default=False)

    opened_at = models.DateTimeField(_("登记时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("登记人"),
    )
    started_at = models.DateTimeField(_("开始整改时间"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("提交人"),
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("核查人"),
    )
    closed_at = models.DateTimeField(_("销号时间"), null=True, blank=True)
    closed_on_time = models.BooleanField(_("按期整改"), null=True, blank=True)
    cancelled_reason = models.CharField(_("撤销原因"), max_length=200, blank=True)
    rejection_count = models.PositiveSmallIntegerField(_("退回次数"), default=0)
    version = models.PositiveIntegerField(_("版本"), default=1)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("问题")
        verbose_name_plural = _("问题")
        indexes = [
            models.Index(fields=["scope_path"], name="cases_case_scope_like", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["status", "deadline"], name="cases_case_status_deadline"),
            # The indicator scans (indicators.engine): a period's cases by deadline, grouped by node and
            # filtered on the built-ins' columns, read from the index alone (they count the node column,
            # not the id, so PostgreSQL needs no INCLUDE for an index-only scan). Also serves every
            # lookup by deadline (it replaced the single-column deadline index).
            models.Index(
                fields=["deadline", "node", "status", "closed_on_time", "rejection_count"],
                name="cases_case_indicator_scan",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False, closed_on_time__isnull=False),
                name="cases_closed_case_has_closing_facts",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="cases_case_version_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def overdue_days(self) -> int:
        """Days past the deadline while the handler still owes the fix (0 when not overdue)."""
        if self.status not in OVERDUE_STATUSES:
            return 0
        return max(0, (timezone.localdate() - self.deadline).days)


class CaseEventKind(models.TextChoices):
    OPEN = "open", _("登记")
    ROUTE = "route", _("自动分派")
    TRIAGE = "triage", _("转入待分拣")
    ASSIGN = "assign", _("分派")
    START = "start", _("开始整改")
    SUBMIT = "submit", _("提交整改")
    VERIFY = "verify", _("核查通过销号")
    REJECT = "reject", _("核查退回")
    CANCEL = "cancel", _("撤销")
    ESCALATE = "escalate", _("逾期升级督办")
    ESCALATION_TOP = "escalation_top", _("已升至最高层级")


class CaseEvent(models.Model):
    """One step of a case's history: who, when, from which status to which, with a note (append-only)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事项"), max_length=20, choices=CaseEventKind.choices)
    at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人"), max_length=150, blank=True)
    from_status = models.CharField(_("原状态"), max_length=16, choices=CaseStatus.choices, blank=True)
    to_status = models.CharField(_("新状态"), max_length=16, choices=CaseStatus.choices, blank=True)
    note = models.TextField(_("说明"), blank=True)
    person = models.ForeignKey(
        "people.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("涉及责任人"),
    )
    escalation_level = models.PositiveSmallIntegerField(_("督办层级"), null=True, blank=True)

    class Meta:
        ordering = ["case", "at", "id"]
        verbose_name = _("问题处理记录")
        verbose_name_plural = _("问题处理记录")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor_label(self) -> str:
        """Who acted, for display: the stored name, or "the system" in the reader's language."""
        if self.actor_id is not None:
            return self.actor_name
        return gettext("系统")


class EvidenceKind(models.TextChoices):
    BEFORE = "before", _("整改前")
    AFTER = "after", _("整改后")


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    """A random name under the month of upload: the user's file name never reaches the disk."""
    return f"evidence/{instance.uploaded_at:%Y/%m}/{uuid.uuid4().hex}.{instance.extension}"


class Evidence(models.Model):
    """A photo with the time it was uploaded and, when given, where it was taken. Before-photos come
    from the inspection result that found the problem; after-photos from the submitted fix."""

    file = models.FileField(_("照片"), upload_to=evidence_upload_to, max_length=200)
    content_type = models.CharField(max_length=30)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    kind = models.CharField(_("类别"), max_length=10, choices=EvidenceKind.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    uploaded_at = models.DateTimeField(_("上传时间"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("上传人"),
    )
    scope_path = models.CharField(max_length=255, editable=False)
    inspection_result = models.ForeignKey(
        InspectionResult, on_delete=models.CASCADE, null=True, blank=True, related_name="evidence"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, blank=True, related_name="evidence")
    case_event = models.ForeignKey(CaseEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="evidence")

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("证据照片")
        verbose_name_plural = _("证据照片")
        indexes = [
            models.Index(fields=["scope_path"], name="cases_evidence_scope_like", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.uploaded_at:%Y-%m-%d %H:%M}"

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(self.content_type, "bin")
