"""Assertions shared by the catalog tests."""
from apps.catalog.models import Benefit, Discount, Entitlement, Price, Product, ProductExternalId
from apps.core.models import Event


def assert_validation_error(response, *paths):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert error["code"] == "validation_error", error
    assert set(paths) <= set(error["details"]["fields"]), error
    return error


def catalog_rows(merchant) -> dict:
    """How many catalog rows and catalog events a merchant has (to prove nothing was written)."""
    return {
        "products": Product.objects.filter(merchant=merchant).count(),
        "external_ids": ProductExternalId.objects.filter(merchant=merchant).count(),
        "prices": Price.objects.filter(merchant=merchant).count(),
        "discounts": Discount.all_objects.filter(merchant=merchant).count(),
        "benefits": Benefit.all_objects.filter(merchant=merchant).count(),
        "entitlements": Entitlement.objects.filter(merchant=merchant).count(),
        "events": catalog_events(merchant).count(),
    }


CATALOG_EVENT_PREFIXES = ("product.", "price.", "discount.", "benefit.", "benefits.", "entitlement.")


def catalog_events(merchant):
    from django.db.models import Q

    condition = Q()
    for prefix in CATALOG_EVENT_PREFIXES:
        condition |= Q(type__startswith=prefix)
    return Event.objects.filter(condition, merchant=merchant)


# --- dashboard ------------------------------------------------------------------------------------
HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str | None = None) -> dict:
    """Headers of an htmx request (optionally aimed at one element id)."""
    return {**HTMX, **({"HTTP_HX_TARGET": target} if target else {})}


def form_fields(html: str, testid: str) -> dict:
    """What a browser would submit from the form marked data-testid=`testid`, as rendered: text
    inputs, checked boxes and radios, selected options, textareas (disabled ones left out). Lists
    for fields with several values. Lets a test "open the page, change one thing, save"."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.inside = False
            self.values: dict[str, list[str]] = {}
            self.select = self.textarea = None
            self.text = ""

        def add(self, name, value):
            self.values.setdefault(name, []).append(value)

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                self.inside = a.get("data-testid") == testid
            if not self.inside or "disabled" in a or not a.get("name") and tag != "option":
                return
            if tag == "input" and a.get("type") not in ("submit", "button", "checkbox", "radio"):
                self.add(a["name"], a.get("value") or "")
            elif tag == "input" and "checked" in a:
                self.add(a["name"], a.get("value") or "on")
            elif tag == "select":
                self.select = a["name"]
            elif tag == "option" and self.select and "selected" in a:
                self.add(self.select, a.get("value") or "")
            elif tag == "textarea":
                self.textarea, self.text = a["name"], ""

        def handle_data(self, data):
            if self.textarea:
                self.text += data

        def handle_endtag(self, tag):
            if tag == "form":
                self.inside = False
            elif tag == "select":
                self.select = None
            elif tag == "textarea" and self.textarea:
                self.add(self.textarea, self.text.removeprefix("\n"))
                self.textarea = None

    parser = Parser()
    parser.feed(html)
    return {k: v if len(v) > 1 else v[0] for k, v in parser.values.items()}
