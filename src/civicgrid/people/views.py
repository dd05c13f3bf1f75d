"""Person registry pages: the scoped, masked list (and its .xlsx export), a person (masked, with an
audited "查看完整信息" that needs a reason), and the create/edit forms. Thin: parse, call one
selector or service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from civicgrid.accounts.roles import Action
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import xlsx_response
from civicgrid.people import services
from civicgrid.people.display import person_display, person_export, person_option_label
from civicgrid.people.forms import PersonForm, PersonSearchForm, UnmaskForm
from civicgrid.people.models import Person
from civicgrid.people.selectors import person_get, person_list
from civicgrid.territory.selectors import assignment_list
from civicgrid.web.permissions import querystring_without_page, requires

PEOPLE_PER_PAGE = 50
OPTIONS_LIMIT = 20


def _search(request: HttpRequest) -> tuple[PersonSearchForm, str]:
    form = PersonSearchForm(request.GET)
    return form, (form.cleaned_data["q"].strip() if form.is_valid() else "")


@requires(Action.VIEW_PEOPLE)
@require_GET
def person_list_view(request: HttpRequest) -> HttpResponse:
    """People in scope, searchable, paginated; ID numbers and phones masked, minors flagged."""
    form, search = _search(request)
    page = Paginator(person_list(actor=request.user, search=search), PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    user: Any = request.user
    return render(
        request,
        "people/list.html",
        {
            "form": form,
            "page_obj": page,
            "rows": [person_display(person, actor=user) for person in page.object_list],
            "querystring_without_page": querystring_without_page(request),
            "export_query": querystring_without_page(request).rstrip("&"),
            "can_export": user.can(Action.EXPORT),
            "can_manage": user.can(Action.MANAGE_PEOPLE),
        },
    )


@requires(Action.EXPORT)
@require_GET
def person_export_view(request: HttpRequest) -> HttpResponse:
    """The (filtered) list as .xlsx, masked; audited."""
    _form, search = _search(request)
    return xlsx_response(_("人员库.xlsx"), person_export(actor=request.user, search=search))


@requires(Action.VIEW_PEOPLE)
@require_GET
def person_options(request: HttpRequest) -> HttpResponse:
    """htmx fragment: <option>s of the people in scope matching a name prefix or a full ID number."""
    search = (request.GET.get("q") or request.GET.get("person_q") or "").replace("\x00", "").strip()[:50]
    people = list(person_list(actor=request.user, search=search)[:OPTIONS_LIMIT]) if search else []
    return render(
        request,
        "people/_options.html",
        {"search": search, "options": [(person.pk, person_option_label(person, actor=request.user)) for person in people]},
    )


def _detail(
    request: HttpRequest,
    person: Person,
    *,
    unmask_form: UnmaskForm | None = None,
    revealed: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    user: Any = request.user
    shown = person_display(person, actor=user)
    return render(
        request,
        "people/detail.html",
        {
            "person": person,
            "shown": shown,
            "revealed": revealed,
            "assignments": assignment_list(actor=user, person=person).order_by("-valid_from", "-pk"),
            "unmask_form": unmask_form or UnmaskForm(),
            "can_unmask": user.can(Action.UNMASK) and (not shown.is_minor or user.can(Action.VIEW_MINOR)),
            "can_manage": user.can(Action.MANAGE_PEOPLE),
        },
        status=status,
    )


@requires(Action.VIEW_PEOPLE)
@require_GET
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One person in scope (else 404), masked."""
    return _detail(request, person_get(actor=request.user, pk=pk))


@requires(Action.VIEW_PEOPLE)
@require_POST
@sensitive_variables("revealed")
def person_unmask_view(request: HttpRequest, pk: int) -> HttpResponse:
    """查看完整信息: the full ID number and phone on this response only, with a reason, audited (R14).
    A role without UNMASK (or a minor without VIEW_MINOR) gets 403 and a failed audit row."""
    person = person_get(actor=request.user, pk=pk)
    form = UnmaskForm(request.POST)
    try:
        revealed = services.person_unmask(actor=request.user, person=person, reason=request.POST.get("reason", ""))
    except PermissionError as exc:
        raise PermissionDenied(_("无权查看该人员的完整信息。")) from exc
    except ApplicationError as exc:
        form.errors["reason"] = form.error_class([exc.message])  # the service's words, not the generic "required"
        return _detail(request, person, unmask_form=form, status=400)
    return _detail(request, person, revealed=revealed)


@requires(Action.MANAGE_PEOPLE)
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("id_number", "phone")
@sensitive_variables("form")
def person_create_view(request: HttpRequest) -> HttpResponse:
    """Register a resident; sex and birth date come from the ID number."""
    form = PersonForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已登记 %(name)s。") % {"name": person.name})
            return redirect("people:detail", pk=person.pk)
    return render(
        request, "people/form.html", {"form": form, "person": None}, status=400 if request.method == "POST" else 200
    )


@requires(Action.MANAGE_PEOPLE)
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("phone")
@sensitive_variables("form")
def person_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a resident's name, phone, address node and address (the ID number never changes).
    The phone field starts empty so editing never shows the full number; empty keeps it."""
    person = person_get(actor=request.user, pk=pk)
    initial = {"name": person.name, "address_node": person.address_node.code, "address": person.address}
    form = PersonForm(request.POST or None, actor=request.user, with_id_number=False, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.person_update(
                actor=request.user, person=person, name=data["name"], phone=data["phone"] or None,
                address=data["address"], address_node=data["address_node"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已保存。"))
            return redirect("people:detail", pk=person.pk)
    return render(
        request,
        "people/form.html",
        {"form": form, "person": person, "shown": person_display(person, actor=request.user)},
        status=400 if request.method == "POST" else 200,
    )
