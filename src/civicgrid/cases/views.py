"""Pages of the rectification loop: work queues (mine, my area, overdue, triage) with filters, bulk
assignment and export; the case page with its timeline, before/after photos and the actions the user
may take now; inspections (list, start, record results item by item, complete) and standards (list,
version, xlsx import/export, publish, copy). Thin: parse, call one selector/service, render. Every
object comes from a selector that takes `request.user` (out of scope and missing are the same 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.accounts.roles import Action
from civicgrid.cases import forms, inspections, reports, selectors, services, standards
from civicgrid.cases.models import Case
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import xlsx_response
from civicgrid.territory.models import NodeKind
from civicgrid.web.permissions import querystring_without_page, requires

CASES_PER_PAGE = 50
INSPECTIONS_PER_PAGE = 50


def _user(request: HttpRequest) -> Any:
    return request.user


# --- work queues ----------------------------------------------------------------------------------


def _queue(request: HttpRequest, queue: str) -> HttpResponse:
    user = _user(request)
    form = forms.CaseFilterForm(request.GET, actor=user)
    filters = form.filters()
    page = Paginator(selectors.case_list(actor=user, queue=queue, filters=filters), CASES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    can_manage = user.can(Action.MANAGE_CASES)
    return render(
        request,
        "cases/queue.html",
        {
            "queue": queue,
            "title": {"my": _("我的问题"), "area": _("辖区问题"), "overdue": _("逾期问题"), "triage": _("待分拣")}[queue],
            "form": form,
            "page_obj": page,
            "counts": selectors.case_queue_counts(actor=user),
            "today": timezone.localdate(),
            "can_manage": can_manage,
            "can_export": user.can(Action.EXPORT),
            "bulk_form": forms.BulkAssignForm(actor=user) if can_manage else None,
            "querystring_without_page": querystring_without_page(request),
            "export_query": querystring_without_page(request).rstrip("&"),
        },
    )


@requires(Action.VIEW_CASES)
@require_GET
def my_cases(request: HttpRequest) -> HttpResponse:
    """Cases assigned or escalated to me."""
    return _queue(request, "my")


@requires(Action.VIEW_CASES)
@require_GET
def area_cases(request: HttpRequest) -> HttpResponse:
    """Every case in my data scope."""
    return _queue(request, "area")


@requires(Action.VIEW_CASES)
@require_GET
def overdue_cases(request: HttpRequest) -> HttpResponse:
    """Active cases past their deadline, in my scope."""
    return _queue(request, "overdue")


@requires(Action.VIEW_CASES)
@require_GET
def triage_cases(request: HttpRequest) -> HttpResponse:
    """Cases without a routable responsible person, waiting for a manager to assign them."""
    return _queue(request, "triage")


@requires(Action.EXPORT)
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """A queue with its filters as .xlsx (audited)."""
    queue = request.GET.get("queue", "area")
    if queue not in selectors.QUEUES:
        queue = "area"
    filters = forms.CaseFilterForm(request.GET, actor=request.user).filters()
    content = reports.case_export(actor=request.user, queue=queue, filters=filters)
    name = _("问题清单_%(queue)s_%(day)s.xlsx") % {"queue": queue, "day": f"{timezone.localdate():%Y%m%d}"}
    return xlsx_response(name, content)


@requires(Action.MANAGE_CASES)
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign the selected cases to one person (or route them again)."""
    form = forms.BulkAssignForm(request.POST, actor=request.user)
    if not form.is_valid():
        messages.error(request, _("请选择要分派的问题。"))
        return _queue_after_error(request)
    try:
        result = services.cases_bulk_assign(
            actor=request.user, cases=list(form.cleaned_data["cases"]), person=form.cleaned_data["person"],
            note=form.cleaned_data["note"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _queue_after_error(request)
    messages.success(request, _("已分派 %(n)d 件问题。") % {"n": len(result.assigned)})
    for pk, reason in result.skipped.items():
        messages.warning(request, _("问题 #%(pk)d 未分派：%(reason)s") % {"pk": pk, "reason": reason})
    return redirect(_back_to_queue(request))


def _back_to_queue(request: HttpRequest) -> str:
    queue = request.POST.get("queue", "area")
    return reverse(f"cases:{queue}" if queue in selectors.QUEUES else "cases:area")


def _queue_after_error(request: HttpRequest) -> HttpResponse:
    queue = request.POST.get("queue") or "area"
    response = _queue(request, queue if queue in selectors.QUEUES else "area")
    response.status_code = 400
    return response


@requires(Action.MANAGE_CASES)
@require_http_methods(["GET", "POST"])
def case_create(request: HttpRequest) -> HttpResponse:
    """Register a case by hand (citizen report, observation, coverage gap…)."""
    user = _user(request)
    form = forms.CaseCreateForm(request.POST or None, request.FILES or None, actor=user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.case_open(
                    actor=user, node=data["node"], title=data["title"], category=data["category"],
                    deadline=data["deadline"], source=data["source"], description=data["description"],
                    severity=data["severity"], photos_in=data["photos"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("问题已登记。"))
                return redirect("cases:detail", pk=case.pk)
    return render(request, "cases/create.html", {"form": form}, status=status)


# --- one case -------------------------------------------------------------------------------------


def _action_forms(request: HttpRequest, case: Case, bound: tuple[str, Any] | None = None) -> dict[str, Any]:
    initial = {"version": case.version}
    built: dict[str, Any] = {
        "start": forms.NoteForm(initial=initial, prefix="start"),
        "submit": forms.SubmitForm(initial=initial, prefix="submit"),
        "verify": forms.NoteForm(initial=initial, prefix="verify"),
        "reject": forms.ReasonForm(initial=initial, prefix="reject"),
        "assign": forms.AssignForm(initial=initial, prefix="assign", actor=request.user),
        "cancel": forms.ReasonForm(initial=initial, prefix="cancel"),
    }
    if bound is not None:
        built[bound[0]] = bound[1]
    return built


def _detail_page(request: HttpRequest, pk: int, *, bound: tuple[str, Any] | None = None, status: int = 200,
                 error: str = "") -> HttpResponse:
    detail = selectors.case_detail(actor=request.user, pk=pk)
    action_forms = _action_forms(request, detail.case, bound)
    return render(
        request,
        "cases/detail.html",
        {
            "d": detail,
            "case": detail.case,
            "today": timezone.localdate(),
            "forms": {name: action_forms[name] for name in detail.actions},
            "error": error,
            "photo_pairs": _pairs(detail.before, detail.after),
        },
        status=status,
    )


def _pairs(before: list[Any], after: list[Any]) -> list[tuple[Any, Any]]:
    """Before and after photos side by side, row by row."""
    rows = max(len(before), len(after))
    return [(before[i] if i < len(before) else None, after[i] if i < len(after) else None) for i in range(rows)]


@requires(Action.VIEW_CASES)
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A case: facts, timeline, before/after photos and the action forms allowed now."""
    return _detail_page(request, pk)


def _act(request: HttpRequest, pk: int, action: str, form_class: Any, call: Any, done: str, **form_kwargs: Any) -> HttpResponse:
    case = selectors.case_get(actor=request.user, pk=pk)  # 404 before anything else
    form = form_class(request.POST, request.FILES or None, prefix=action, **form_kwargs)
    if not form.is_valid():
        return _detail_page(request, pk, bound=(action, form), status=400, error=_("请检查填写的内容。"))
    try:
        call(case, form.cleaned_data)
    except ApplicationError as exc:
        return _detail_page(request, pk, bound=(action, form), status=400, error=exc.message)
    messages.success(request, done)
    return redirect("cases:detail", pk=case.pk)


@requires(Action.HANDLE_CASES)
@require_POST
def case_start(request: HttpRequest, pk: int) -> HttpResponse:
    """Start fixing a case."""
    return _act(request, pk, "start", forms.NoteForm, lambda case, data: services.case_start(
        actor=request.user, case=case, version=data["version"], note=data["note"]), _("已开始整改。"))


@requires(Action.HANDLE_CASES)
@require_POST
def case_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the fix with after-photos."""
    return _act(request, pk, "submit", forms.SubmitForm, lambda case, data: services.case_submit(
        actor=request.user, case=case, version=data["version"], note=data["note"], photos_in=data["photos"],
        lon=data.get("lon"), lat=data.get("lat")), _("整改已提交，等待核查。"))


@requires(Action.VERIFY_CASES)
@require_POST
def case_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm the fix: the case is closed."""
    return _act(request, pk, "verify", forms.NoteForm, lambda case, data: services.case_verify(
        actor=request.user, case=case, version=data["version"], note=data["note"]), _("核查通过，问题已销号。"))


@requires(Action.VERIFY_CASES)
@require_POST
def case_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the fix back with the reason."""
    return _act(request, pk, "reject", forms.ReasonForm, lambda case, data: services.case_reject(
        actor=request.user, case=case, version=data["version"], reason=data["reason"]), _("已退回重新整改。"))


@requires(Action.MANAGE_CASES)
@require_POST
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign or re-assign a case (or route it again)."""
    return _act(request, pk, "assign", forms.AssignForm, lambda case, data: services.case_assign(
        actor=request.user, case=case, version=data["version"], person=data["person"], note=data["note"]),
        _("已分派。"), actor=request.user)


@requires(Action.MANAGE_CASES)
@require_POST
def case_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a case with the reason."""
    return _act(request, pk, "cancel", forms.ReasonForm, lambda case, data: services.case_cancel(
        actor=request.user, case=case, version=data["version"], reason=data["reason"]), _("问题已撤销。"))


@requires(Action.VIEW_CASES)
@require_GET
def evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """One evidence photo, for a user who may see its case or inspection."""
    photo = selectors.evidence_get(actor=request.user, pk=pk)
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="evidence-{photo.pk}.{photo.extension}"'
    return response  # type: ignore[return-value]  # a streamed file is an answer like any other


# --- inspections ----------------------------------------------------------------------------------


@requires(Action.INSPECT)
@require_GET
def inspection_list(request: HttpRequest) -> HttpResponse:
    """Inspections in my scope, newest first."""
    page = Paginator(selectors.inspection_list(actor=request.user), INSPECTIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "cases/inspections.html", {"page_obj": page,
                                                      "querystring_without_page": querystring_without_page(request)})


@requires(Action.INSPECT)
@require_http_methods(["GET", "POST"])
def inspection_create(request: HttpRequest) -> HttpResponse:
    """Start an inspection: a node in scope and a published standard version."""
    form = forms.InspectionCreateForm(request.POST or None, actor=request.user)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                inspection = inspections.inspection_create(
                    actor=request.user, version=data["version"], node=data["node"],
                    inspected_on=data["inspected_on"], note=data["note"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("cases:inspection_record", pk=inspection.pk)
    return render(request, "cases/inspection_create.html", {"form": form}, status=status)


@requires(Action.VIEW_CASES)
@require_GET
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An inspection: score, results with photos, and the cases its findings opened."""
    sheet = selectors.inspection_sheet(actor=request.user, pk=pk)
    return render(request, "cases/inspection_detail.html", {"sheet": sheet, "inspection": sheet.inspection})


def _record_page(request: HttpRequest, pk: int, *, bound: Any = None, status: int = 200, error: str = "",
                 complete_form: Any = None) -> HttpResponse:
    sheet = selectors.inspection_sheet(actor=request.user, pk=pk)
    rows = []
    for row in sheet.rows:
        if bound is not None and bound.data.get("item") == str(row.item.pk):
            form = bound
        else:
            result = row.result
            initial: dict[str, Any] = {"item": row.item.pk}
            if result is not None:
                initial.update(
                    outcome="na" if result.not_applicable else ("pass" if result.passed else "fail"),
                    points=result.points_awarded, measured=result.measured_value, note=result.note,
                    not_applicable=result.not_applicable, lon=result.lon, lat=result.lat,
                )
            form = forms.ResultForm(initial=initial, inspection=sheet.inspection, auto_id=f"id_item{row.item.pk}_%s")
        rows.append((row, form))
    default_deadline = timezone.localdate() + dt.timedelta(days=inspections.default_deadline_days())
    return render(
        request,
        "cases/inspection_record.html",
        {
            "sheet": sheet, "inspection": sheet.inspection, "rows": rows, "error": error,
            "complete_form": complete_form or forms.CompleteForm(initial={"deadline": default_deadline}),
        },
        status=status,
    )


@requires(Action.INSPECT)
@require_http_methods(["GET", "POST"])
def inspection_record(request: HttpRequest, pk: int) -> HttpResponse:
    """The recording sheet (a form per item); a POST records one item's result with its photos."""
    if request.method == "GET":
        return _record_page(request, pk)
    inspection = selectors.inspection_get(actor=request.user, pk=pk)
    item_id = str(request.POST.get("item", ""))[:20]
    form = forms.ResultForm(request.POST, request.FILES or None, inspection=inspection, auto_id=f"id_item{item_id}_%s")
    if not form.is_valid():
        return _record_page(request, pk, bound=form, status=400, error=_("请检查填写的内容。"))
    data = form.cleaned_data
    try:
        inspections.inspection_record_result(
            actor=request.user, inspection=inspection, item=data["item"], note=data["note"], lon=data.get("lon"),
            lat=data.get("lat"), photos_in=data["photos"], **form.result_values(),
        )
    except ApplicationError as exc:
        return _record_page(request, pk, bound=form, status=400, error=exc.message)
    messages.success(request, _("已记录 %(code)s。") % {"code": data["item"].code})
    return redirect(f"{reverse('cases:inspection_record', args=[pk])}#item-{data['item'].pk}")


@requires(Action.INSPECT)
@require_POST
def inspection_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete the inspection: score it and open a case for every failed item."""
    inspection = selectors.inspection_get(actor=request.user, pk=pk)
    form = forms.CompleteForm(request.POST)
    if not form.is_valid():
        return _record_page(request, pk, status=400, error=_("请填写整改期限。"), complete_form=form)
    try:
        done = inspections.inspection_complete(
            actor=request.user, inspection=inspection, deadline=form.cleaned_data["deadline"],
            severity=form.cleaned_data["severity"],
        )
    except ApplicationError as exc:
        return _record_page(request, pk, status=400, error=exc.message, complete_form=form)
    messages.success(
        request, _("检查已完成：得分 %(score)s / %(max)s，发现问题 %(n)d 个。")
        % {"score": done.score_achieved, "max": done.score_max, "n": done.items_failed},
    )
    return redirect("cases:inspection", pk=done.pk)


# --- standards ------------------------------------------------------------------------------------


@requires(Action.VIEW_CASES)
@require_GET
def standard_list(request: HttpRequest) -> HttpResponse:
    """Every standard with its versions; the import form for standard managers."""
    user = _user(request)
    return _standards_page(request, forms.StandardImportForm() if user.can(Action.MANAGE_STANDARDS) else None)


def _standards_page(request: HttpRequest, form: Any, status: int = 200, error: str = "") -> HttpResponse:
    return render(request, "cases/standards.html",
                  {"standards": selectors.standard_list(actor=request.user), "form": form, "error": error},
                  status=status)


@requires(Action.MANAGE_STANDARDS)
@require_POST
def standard_import(request: HttpRequest) -> HttpResponse:
    """Import an .xlsx checklist as a new draft version (all rows or nothing)."""
    form = forms.StandardImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _standards_page(request, form, status=400)
    data = form.cleaned_data
    try:
        version = standards.standard_import_xlsx(
            actor=request.user, upload=data["file"], code=data["code"], name=data["name"],
            effective_from=data["effective_from"], note=data["note"],
        )
    except ApplicationError as exc:
        return _standards_page(request, form, status=400, error=exc.message)
    messages.success(request, _("已导入为草稿版本 v%(n)d，核对后请发布。") % {"n": version.number})
    return redirect("cases:standard_version", code=version.standard.code, number=version.number)


def _version_page(request: HttpRequest, code: str, number: int, *, status: int = 200, error: str = "",
                  copy_form: Any = None) -> HttpResponse:
    user = _user(request)
    version = selectors.standard_version_get(actor=user, code=code, number=number)
    items = selectors.standard_version_items(actor=user, version=version)
    kinds = dict(NodeKind.choices)
    return render(
        request,
        "cases/standard_version.html",
        {
            "version": version, "items": [(item, [kinds.get(k, k) for k in item.applies_to]) for item in items],
            "total_points": sum(item.points for item in items),
            "can_manage": user.can(Action.MANAGE_STANDARDS), "can_export": user.can(Action.EXPORT),
            "copy_form": copy_form or forms.CopyForm(initial={"effective_from": timezone.localdate()}),
            "error": error,
        },
        status=status,
    )


@requires(Action.VIEW_CASES)
@require_GET
def standard_version(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """A version's checklist: sections, items, scoring rules, node kinds."""
    return _version_page(request, code, number)


@requires(Action.EXPORT)
@require_GET
def standard_export(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The version as .xlsx with the import's Chinese headers (audited)."""
    version = selectors.standard_version_get(actor=request.user, code=code, number=number)
    content = standards.standard_version_export(actor=request.user, version=version)
    return xlsx_response(_("测评体系_%(code)s_v%(n)d.xlsx") % {"code": code, "n": number}, content)


@requires(Action.MANAGE_STANDARDS)
@require_POST
def standard_publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Publish a draft version (it is immutable afterwards)."""
    version = selectors.standard_version_get(actor=request.user, code=code, number=number)
    try:
        standards.standard_version_publish(actor=request.user, version=version)
    except ApplicationError as exc:
        return _version_page(request, code, number, status=400, error=exc.message)
    messages.success(request, _("已发布，可用于测评检查。"))
    return redirect("cases:standard_version", code=code, number=number)


@requires(Action.MANAGE_STANDARDS)
@require_POST
def standard_copy(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """Copy a version into a new draft (how a published standard changes)."""
    version = selectors.standard_version_get(actor=request.user, code=code, number=number)
    form = forms.CopyForm(request.POST)
    if not form.is_valid():
        return _version_page(request, code, number, status=400, copy_form=form, error=_("请填写生效日期。"))
    try:
        copy = standards.standard_version_copy(
            actor=request.user, version=version, effective_from=form.cleaned_data["effective_from"]
        )
    except ApplicationError as exc:
        return _version_page(request, code, number, status=400, copy_form=form, error=exc.message)
    messages.success(request, _("已复制为草稿版本 v%(n)d。") % {"n": copy.number})
    return redirect("cases:standard_version", code=code, number=copy.number)
