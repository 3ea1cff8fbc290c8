"""Dashboard views of core: the activity feed (the tenant's events, newest first)."""
import json

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission

from .errors import DomainError
from .events import event_payload
from .forms import ActivityFilterForm, add_domain_error
from .models import Event
from .selectors import event_list, event_type_list

PAGE_SIZE = 25


@dashboard_view(Permission.VIEW_DASHBOARD)
def activity(request):
    form = ActivityFilterForm(request.GET)
    events = Event.objects.none()
    if form.is_valid():
        try:
            events = event_list(tenant=request.tenant, **form.selector_filters(timezone.get_current_timezone()))
        except DomainError as exc:
            add_domain_error(form, exc)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"event": event, "json": json.dumps(event_payload(event), indent=2, ensure_ascii=False)} for event in page]
    context = {"form": form, "page": page, "rows": rows, "filtered": any(form.data.get(k) for k in form.fields)}
    if request.htmx and request.htmx.target == "activity-results":
        return render(request, "core/activity.html#results", context)
    context["event_types"] = _type_suggestions(event_type_list(tenant=request.tenant))
    return render(request, "core/activity.html", context)


def _type_suggestions(types: list[str]) -> list[str]:
    prefixes = sorted({t.split(".")[0] + ".*" for t in types})
    return prefixes + types
