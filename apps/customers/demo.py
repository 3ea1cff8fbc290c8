"""Demo customers for Northwind Coffee Roasters (`manage.py load_demo`, see apps.accounts.demo).

Forty people and businesses in the UK, the EU and the US who buy coffee from the demo merchant:
home subscribers, cafés and offices (with VAT or EIN numbers), some imported from Shopify and
HubSpot (with external ids). All are written through the customers services, so each has its
`customer.created` event and the dashboard's timeline has something to show. Sandbox mode: the demo
merchant is not approved for live payments.

Idempotent: a customer whose email or external id is already there is left alone (a second run
writes nothing, and what someone edited in the dashboard survives the next `make run`).
"""
from __future__ import annotations

from apps.accounts.demo import DemoContext, demo_step
from apps.core.tenancy import Tenant, scoped

from . import services
from .models import Customer, CustomerExternalId


def _address(line1: str, city: str, postal_code: str, country: str, *, line2: str = "", state: str = "") -> dict:
    return {"line1": line1, "line2": line2, "city": city, "state": state, "postal_code": postal_code,
            "country": country}


# Each row: the customer's fields, plus optional "external" = (source, id) for people who came in
# through an integration. Phone numbers are from the ranges set aside for drama (Ofcom 020 7946 0xxx,
# US 555-01xx); emails are at example domains.
CUSTOMERS: list[dict] = [
    # --- UK home subscribers ------------------------------------------------------------------
    {"email": "olivia.bennett@example.com", "name": "Olivia Bennett", "phone": "+44 20 7946 0112", "locale": "en-GB",
     "currency": "GBP", "billing_address": _address("14 Albert Road", "London", "N4 3RW", "GB"),
     "metadata": {"grind": "whole bean", "roast": "medium"}},
    {"email": "james.okoro@example.com", "name": "James Okoro", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("Flat 3, 22 Deansgate", "Manchester", "M3 4LQ", "GB")},
    {"email": "amelia.clarke@example.org", "name": "Amelia Clarke", "phone": "+44 20 7946 0345", "locale": "en-GB",
     "currency": "GBP", "billing_address": _address("7 Rose Street", "Edinburgh", "EH2 2PR", "GB"),
     "metadata": {"grind": "espresso"}},
    {"email": "harry.nguyen@example.net", "name": "Harry Nguyen", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("41 Whiteladies Road", "Bristol", "BS8 2LS", "GB"),
     "shipping_address": _address("Nguyen Design Studio, 9 Stokes Croft", "Bristol", "BS1 3PR", "GB")},
    {"email": "sophie.walsh@example.com", "name": "Sophie Walsh", "locale": "en-GB", "currency": "GBP"},
    {"email": "mohammed.rahman@example.com", "name": "Mohammed Rahman", "phone": "+44 20 7946 0678",
     "locale": "en-GB", "currency": "GBP", "billing_address": _address("88 Bold Street", "Liverpool", "L1 4HY", "GB")},
    {"email": "charlotte.evans@example.org", "name": "Charlotte Evans", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("3 Castle Arcade", "Cardiff", "CF10 1BU", "GB"), "external": ("shopify", "7204519837")},
    {"email": "george.patel@example.net", "name": "George Patel", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("19 Park Row", "Leeds", "LS1 5JF", "GB"), "external": ("shopify", "7204519912")},
    {"email": "isla.murray@example.com", "name": "Isla Murray", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("56 Byres Road", "Glasgow", "G12 8AT", "GB"), "external": ("shopify", "7204520048")},
    {"email": "noah.fletcher@example.com", "name": "Noah Fletcher", "phone": "+44 20 7946 0901"},
    # --- UK cafés and offices (VAT registered) -----------------------------------------------------
    {"email": "orders@hearthbakery.example", "name": "Priya Shah", "company_name": "Hearth Bakery Ltd",
     "phone": "+44 20 7946 0233", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("2 Maltby Street", "London", "SE1 3PA", "GB"),
     "tax_ids": [{"type": "gb_vat", "value": "GB284771093"}], "metadata": {"account": "wholesale", "terms": "net-30"},
     "external": ("hubspot", "51234")},
    {"email": "accounts@thelanterncafe.example", "name": "Tom Hughes", "company_name": "The Lantern Café",
     "locale": "en-GB", "currency": "GBP", "billing_address": _address("11 High Street", "York", "YO1 8BN", "GB"),
     "tax_ids": [{"type": "gb_vat", "value": "GB193846205"}], "metadata": {"account": "wholesale"}},
    {"email": "hello@fieldandfern.example", "name": "Grace Liu", "company_name": "Field & Fern Kitchen",
     "phone": "+44 20 7946 0456", "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("40 Gloucester Road", "Bristol", "BS7 8AR", "GB"),
     "tax_ids": [{"type": "gb_vat", "value": "GB402918377"}], "external": ("hubspot", "51877")},
    {"email": "facilities@brightwelldigital.example", "name": "Daniel Osei", "company_name": "Brightwell Digital plc",
     "locale": "en-GB", "currency": "GBP",
     "billing_address": _address("Floor 5, 1 Spinningfields", "Manchester", "M3 3AP", "GB"),
     "shipping_address": _address("Kitchen, Floor 5, 1 Spinningfields", "Manchester", "M3 3AP", "GB"),
     "tax_ids": [{"type": "gb_vat", "value": "GB318552640"}], "metadata": {"po_required": "yes"},
     "external": ("hubspot", "52019")},
    {"email": "office@kestrelarchitects.example", "name": "Hannah Reid", "company_name": "Kestrel Architects LLP",
     "locale": "en-GB", "currency": "GBP", "billing_address": _address("6 Queen Street", "Edinburgh", "EH2 1JE", "GB"),
     "tax_ids": [{"type": "gb_vat", "value": "GB776104258"}]},
    # --- EU home subscribers ---------------------------------------------------------------------
    {"email": "lena.schmidt@example.com", "name": "Lena Schmidt", "locale": "de-DE", "currency": "EUR",
     "billing_address": _address("Kastanienallee 12", "Berlin", "10435", "DE")},
    {"email": "jonas.mueller@example.org", "name": "Jonas Müller", "phone": "+49 30 901820", "locale": "de-DE",
     "currency": "EUR", "billing_address": _address("Schillerstraße 8", "München", "80336", "DE"),
     "external": ("shopify", "7204521170")},
    {"email": "camille.durand@example.net", "name": "Camille Durand", "locale": "fr-FR", "currency": "EUR",
     "billing_address": _address("18 rue des Martyrs", "Paris", "75009", "FR")},
    {"email": "lucas.bernard@example.com", "name": "Lucas Bernard", "locale": "fr-FR", "currency": "EUR",
     "billing_address": _address("5 place Bellecour", "Lyon", "69002", "FR")},
    {"email": "sanne.devries@example.com", "name": "Sanne de Vries", "locale": "nl-NL", "currency": "EUR",
     "billing_address": _address("Prinsengracht 263", "Amsterdam", "1016 GV", "NL"),
     "external": ("shopify", "7204521388")},
    {"email": "aoife.byrne@example.org", "name": "Aoife Byrne", "phone": "+353 1 555 0147", "locale": "en-IE",
     "currency": "EUR", "billing_address": _address("21 Camden Street Lower", "Dublin", "D02 XE80", "IE")},
    {"email": "giulia.romano@example.net", "name": "Giulia Romano", "locale": "it-IT", "currency": "EUR",
     "billing_address": _address("Via Torino 44", "Milano", "20123", "IT")},
    {"email": "pablo.garcia@example.com", "name": "Pablo García", "locale": "es-ES", "currency": "EUR",
     "billing_address": _address("Calle de Fuencarral 70", "Madrid", "28004", "ES")},
    {"email": "astrid.lindqvist@example.org", "name": "Astrid Lindqvist", "locale": "sv-SE", "currency": "SEK",
     "billing_address": _address("Götgatan 15", "Stockholm", "116 46", "SE")},
    {"email": "mikkel.jensen@example.net", "name": "Mikkel Jensen", "locale": "da-DK", "currency": "DKK",
     "billing_address": _address("Jægersborggade 9", "København", "2200", "DK")},
    # --- EU cafés (VAT registered) ----------------------------------------------------------------
    {"email": "einkauf@kaffeehaus-mitte.example", "name": "Katrin Vogel", "company_name": "Kaffeehaus Mitte GmbH",
     "locale": "de-DE", "currency": "EUR", "billing_address": _address("Torstraße 101", "Berlin", "10119", "DE"),
     "tax_ids": [{"type": "eu_vat", "value": "DE287156390"}], "metadata": {"account": "wholesale"}},
    {"email": "compta@cafe-lumiere.example", "name": "Julien Moreau", "company_name": "Café Lumière SARL",
     "phone": "+33 1 23 45 67 89", "locale": "fr-FR", "currency": "EUR",
     "billing_address": _address("3 rue Oberkampf", "Paris", "75011", "FR"),
     "tax_ids": [{"type": "eu_vat", "value": "FR40123456824"}], "external": ("hubspot", "52240")},
    {"email": "inkoop@koffiebar-noord.example", "name": "Daan Bakker", "company_name": "Koffiebar Noord B.V.",
     "locale": "nl-NL", "currency": "EUR", "billing_address": _address("Buiksloterweg 5", "Amsterdam", "1031 CC", "NL"),
     "tax_ids": [{"type": "eu_vat", "value": "NL859367452B01"}]},
    {"email": "accounts@harbourroast.example", "name": "Ciarán Kelly", "company_name": "Harbour Roast Café Ltd",
     "locale": "en-IE", "currency": "EUR", "billing_address": _address("2 Harbour Road", "Howth", "D13 R2C4", "IE"),
     "tax_ids": [{"type": "eu_vat", "value": "IE6388047V"}]},
    {"email": "amministrazione@barcentrale.example", "name": "Marco Ricci", "company_name": "Bar Centrale S.r.l.",
     "locale": "it-IT", "currency": "EUR", "billing_address": _address("Piazza Maggiore 1", "Bologna", "40124", "IT"),
     "tax_ids": [{"type": "eu_vat", "value": "IT01234567897"}], "external": ("hubspot", "52391")},
    # --- US home subscribers -----------------------------------------------------------------------
    {"email": "emily.carter@example.com", "name": "Emily Carter", "phone": "+1 415 555 0132", "locale": "en-US",
     "currency": "USD", "billing_address": _address("1520 Valencia St", "San Francisco", "94110", "US", state="CA")},
    {"email": "marcus.johnson@example.org", "name": "Marcus Johnson", "locale": "en-US", "currency": "USD",
     "billing_address": _address("88 Bedford Ave", "Brooklyn", "11249", "US", line2="Apt 4F", state="NY"),
     "external": ("shopify", "7204522655")},
    {"email": "ava.thompson@example.net", "name": "Ava Thompson", "locale": "en-US", "currency": "USD",
     "billing_address": _address("402 W 6th St", "Austin", "78701", "US", state="TX")},
    {"email": "ethan.brooks@example.com", "name": "Ethan Brooks", "phone": "+1 206 555 0175", "locale": "en-US",
     "currency": "USD", "billing_address": _address("2211 NW Market St", "Seattle", "98107", "US", state="WA")},
    {"email": "sofia.ramirez@example.org", "name": "Sofía Ramírez", "locale": "es-US", "currency": "USD",
     "billing_address": _address("1745 W 18th St", "Chicago", "60608", "US", state="IL")},
    {"email": "ben.harper@example.com", "name": "Ben Harper", "locale": "en-US", "currency": "USD"},
    # --- US cafés and offices (EIN) -----------------------------------------------------------------
    {"email": "ap@rosecitybrewhouse.example", "name": "Rachel Kim", "company_name": "Rose City Brew House LLC",
     "locale": "en-US", "currency": "USD",
     "billing_address": _address("915 SE Hawthorne Blvd", "Portland", "97214", "US", state="OR"),
     "tax_ids": [{"type": "us_ein", "value": "93-4827165"}], "metadata": {"account": "wholesale", "terms": "net-15"},
     "external": ("hubspot", "52517")},
    {"email": "orders@bluebirdbagels.example", "name": "David Cohen", "company_name": "Bluebird Bagels Inc.",
     "phone": "+1 212 555 0198", "locale": "en-US", "currency": "USD",
     "billing_address": _address("120 Orchard St", "New York", "10002", "US", state="NY"),
     "tax_ids": [{"type": "us_ein", "value": "13-5729406"}]},
    {"email": "office@northstarlabs.example", "name": "Jasmine Ortiz", "company_name": "Northstar Labs, Inc.",
     "locale": "en-US", "currency": "USD",
     "billing_address": _address("500 Boylston St", "Boston", "02116", "US", line2="Suite 1200", state="MA"),
     "shipping_address": _address("500 Boylston St, 12th floor pantry", "Boston", "02116", "US", state="MA"),
     "tax_ids": [{"type": "us_ein", "value": "04-3618274"}]},
    {"email": "hello@desertbloomcafe.example", "name": "Luis Mendoza", "company_name": "Desert Bloom Café",
     "locale": "en-US", "currency": "USD",
     "billing_address": _address("2 E Roosevelt St", "Phoenix", "85004", "US", state="AZ"),
     "tax_ids": [{"type": "us_ein", "value": "86-2047719"}]},
]


@demo_step
def step_customers(ctx: DemoContext) -> None:
    """Adds the demo customers that are not there yet (looked up by email and by external id)."""
    tenant = Tenant(ctx.merchant, livemode=False)
    emails = set(scoped(Customer, tenant=tenant).values_list("email", flat=True))
    external = set(scoped(CustomerExternalId, tenant=tenant).filter(deleted_at__isnull=True)
                   .values_list("source", "external_id"))
    created = 0
    for row in CUSTOMERS:
        data = {key: value for key, value in row.items() if key != "external"}
        if data["email"] in emails or row.get("external") in external:
            continue
        if "external" in row:
            source, external_id = row["external"]
            services.customer_upsert_by_external_id(tenant=tenant, actor=ctx.actor, source=source,
                                                    external_id=external_id, data=data)
        else:
            services.customer_create(tenant=tenant, actor=ctx.actor, data=data)
        created += 1
    total = scoped(Customer, tenant=tenant).count()
    ctx.notes.append(f"Customers (sandbox): {total}" + (f", {created} added now" if created else "")
                     + " — Shopify and HubSpot imports, UK/EU/US cafés with VAT/EIN numbers")
