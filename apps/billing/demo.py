"""Demo invoices, orders and credit notes for Northwind Coffee Roasters (`manage.py load_demo`, see
apps.accounts.demo), in sandbox, over the last 90 days.

Every invoice status of page 024 is there: a draft, one waiting for approval, approved, sent, partially
paid, paid (by card through the gateway simulator, and by bank transfer), overdue (its due date passed
and the overdue job ran), voided, refunded (a full credit note back to the card) and uncollectible.
Paid invoices holding coffee or the brewing course made their orders: one shipped with a tracking
number, one delivered, one digital (the course's benefits granted). Two partial credit notes: a refund
and a credit to the customer's balance. Also UK VAT at 20 % and the merchant's invoice settings (tax id,
bank details, reminders) when they are still the defaults.

All of it through the real services, each step with the clock moved to its moment
(apps.core.clock.moved_to), in issue order, so numbers are gapless and follow the dates. Card payments
go through the NMI adapter to this project's simulator in-process (apps.payments.demo), at the present
moment (the simulator's past batches are closed). Idempotent: nothing is done when the demo invoices
(metadata {"demo": "northwind"}) exist already. Runs after the payments step (imported below first, so
its step registers first).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings as django_settings

from apps.accounts.demo import DemoContext, demo_step
from apps.accounts.models import GatewayAccount
from apps.catalog.models import Price
from apps.core.clock import moved_to, now
from apps.core.money import Money
from apps.core.tenancy import Tenant, scoped
from apps.customers.models import Customer
from apps.payments.demo import LONDON, in_process_gateway  # also registers the payments step before ours

from . import services
from .models import CreditNote, Invoice, Order, OrderLine, TaxRate

DEMO = "northwind"
DEMO_MARK = {"demo": DEMO}
SETTINGS = {"tax_id": "GB284019376", "reminder_days_before": [3], "reminder_days_after": [1, 7, 14],
            "payment_instructions": "Bank transfer to Northwind Coffee Roasters Ltd\nSort code 04-00-04 · "
                                    "Account 12345678\nPlease quote the invoice number.",
            "default_footer": "Northwind Coffee Roasters Ltd · Registered in England and Wales no. 09876543"}

BEANS = "Ethiopia Yirgacheffe Beans 250 g"
COURSE = "Home Barista Brewing Course"
GIFT = "Northwind Gift Card"
WHOLESALE = "Wholesale Espresso Blend 1 kg"


@dataclass
class Spec:
    """One demo invoice: who, what (product name or an adjustment (description, pence)), when it was
    issued (days ago; None = a draft) and what happened to it afterwards (steps in time order)."""

    key: str
    email: str
    lines: list[tuple]
    issued: int | None
    terms: int | None = None
    steps: list[tuple] = field(default_factory=list)
    approval: bool = False
    created: int | None = None


# (step, days ago, …). days ago None = the present moment (card payments, see the module docstring).
SPECS = [
    Spec("uncollectible", "office@kestrelarchitects.example", [(WHOLESALE, 6)], issued=86, terms=14,
         steps=[("send", 86), ("uncollectible", 30)]),
    Spec("wholesale-1", "orders@hearthbakery.example", [(WHOLESALE, 12)], issued=82, terms=30,
         steps=[("send", 82), ("bank", 70, None)]),
    Spec("refunded", "harry.nguyen@example.net", [(COURSE, 1)], issued=75, terms=14,
         steps=[("send", 75), ("bank", 72, None), ("credit", 60, None, "refund_to_payment_method", "duplicate")]),
    Spec("overdue", "accounts@thelanterncafe.example", [(WHOLESALE, 8), ("Delivery (pallet)", 1500)], issued=62,
         terms=30, steps=[("send", 62)]),
    Spec("wholesale-2", "facilities@brightwelldigital.example", [(WHOLESALE, 20)], issued=55, terms=30,
         steps=[("send", 55), ("bank", 41, None)]),
    Spec("voided", "james.okoro@example.com", [(BEANS, 2), ("Delivery", 495)], issued=48, terms=14,
         steps=[("send", 48), ("void", 47, "Duplicate of an order paid at checkout")]),
    Spec("delivered", "olivia.bennett@example.com", [(BEANS, 3), ("Delivery", 495)], issued=40, terms=14,
         steps=[("send", 40), ("bank", 37, None), ("ship", 36, "Royal Mail", "RM482913755GB"), ("deliver", 34),
                ("credit", 30, 500, "refund_to_payment_method", "product_unsatisfactory")]),
    Spec("partially-paid", "hello@fieldandfern.example", [(WHOLESALE, 15)], issued=25, terms=45,
         steps=[("send", 25), ("bank", 12, 10000)]),
    Spec("wholesale-3", "orders@hearthbakery.example", [(WHOLESALE, 10)], issued=20, terms=30,
         steps=[("send", 20), ("bank", 9, None)]),
    Spec("shipped", "amelia.clarke@example.org", [(BEANS, 4), (GIFT, 1, 2500)], issued=12, terms=14,
         steps=[("send", 12), ("bank", 8, None), ("ship", 6, "DPD", "15501234567890"),
                ("credit", 5, 1000, "customer_balance", "order_change")]),
    Spec("sent", "mohammed.rahman@example.com", [(BEANS, 2), ("Delivery", 495)], issued=9, terms=30,
         steps=[("send", 9)]),
    Spec("paid-card", "charlotte.evans@example.org", [(COURSE, 1)], issued=5, terms=14,
         steps=[("send", 5), ("card", None, "tok_visa_debit_gb")]),
    Spec("pending-approval", "orders@hearthbakery.example", [(WHOLESALE, 25), ("Barista training (half day)", 24000)],
         issued=2, approval=True),
    Spec("approved", "george.patel@example.net", [(BEANS, 1), (COURSE, 1)], issued=1, terms=14),
    Spec("draft", "isla.murray@example.com", [(BEANS, 6), ("Delivery", 495)], issued=None, created=1),
]


def _at(days_ago: int, hour: int = 10, minute: int = 0) -> datetime:
    day = now().astimezone(LONDON).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


class _Demo:
    def __init__(self, ctx: DemoContext):
        self.ctx = ctx
        self.tenant = Tenant(ctx.merchant, livemode=False)
        self.actor = ctx.actor
        self.vat: TaxRate | None = None
        self.card_ok = False
        self.made: dict[str, Invoice] = {}

    # --- lookups -----------------------------------------------------------------------------------
    def customer(self, email: str) -> Customer | None:
        return scoped(Customer, tenant=self.tenant).filter(email__iexact=email, deleted_at__isnull=True).first()

    def price(self, product_name: str) -> Price | None:
        return (Price.objects.filter(product__merchant=self.tenant.merchant, product__livemode=False,
                                     product__name=product_name, active=True, currency="GBP", type__in=[
                                         "one_time", "pay_what_you_want"])
                .select_related("product").order_by("created_at").first())

    def line(self, entry: tuple) -> services.LineInput | None:
        name, quantity, *amount = entry
        if isinstance(quantity, int) and name not in (BEANS, COURSE, GIFT, WHOLESALE):
            return services.LineInput(description=name, unit_amount_minor=quantity, tax_rate=self.vat)
        price = self.price(name)
        if price is None:
            return None
        # A gift card is a multi-purpose voucher: outside the scope of VAT until it is spent.
        return services.LineInput(price=price, quantity=quantity, tax_rate=None if name == GIFT else self.vat,
                                  tax_exempt=name == GIFT, unit_amount_minor=amount[0] if amount else None)

    # --- set-up ------------------------------------------------------------------------------------
    def tax_and_settings(self) -> None:
        """UK VAT 20 %, and the merchant's invoice details unless someone set them already."""
        self.vat = (scoped(TaxRate, tenant=self.tenant).filter(country="GB", region="", percentage=Decimal("20"),
                                                               inclusive=False, active=True).first())
        with moved_to(_at(91, 9)):
            if self.vat is None:
                self.vat = services.tax_rate_create(tenant=self.tenant, actor=self.actor, name="VAT", percentage="20",
                                                    country="GB", description="UK standard rate")
            current = services.invoice_settings_for(self.tenant.merchant)
            if not current.tax_id and not current.payment_instructions:
                services.invoice_settings_update(tenant=self.tenant, actor=self.actor, changes=SETTINGS)

    # --- one invoice -------------------------------------------------------------------------------
    def run(self, spec: Spec) -> None:
        customer = self.customer(spec.email)
        lines = [self.line(entry) for entry in spec.lines]
        if customer is None or None in lines:
            self.ctx.notes.append(f"Demo invoice '{spec.key}' skipped: its customer or product is missing.")
            return
        created = spec.created if spec.issued is None else spec.issued
        with moved_to(_at(created, 9, 30)):
            invoice = services.invoice_create(tenant=self.tenant, actor=self.actor, customer=customer, lines=lines,
                                              days_until_due=spec.terms, metadata={**DEMO_MARK, "demo_key": spec.key})
        if spec.issued is not None:
            with moved_to(_at(spec.issued, 9, 45)):
                invoice = self.finalize(invoice, approval=spec.approval)
        for step in spec.steps:
            invoice = self.step(invoice, *step)
        self.made[spec.key] = invoice

    def finalize(self, invoice: Invoice, *, approval: bool) -> Invoice:
        """With `approval`, the merchant's approval setting is on just for this one (restored at once)."""
        current = services.invoice_settings_for(self.tenant.merchant).require_approval
        if approval == current:
            return services.invoice_finalize(tenant=self.tenant, actor=self.actor, invoice=invoice)
        services.invoice_settings_update(tenant=self.tenant, actor=self.actor, changes={"require_approval": approval})
        try:
            return services.invoice_finalize(tenant=self.tenant, actor=self.actor, invoice=invoice)
        finally:
            services.invoice_settings_update(tenant=self.tenant, actor=self.actor,
                                             changes={"require_approval": current})

    def step(self, invoice: Invoice, kind: str, days_ago, *args) -> Invoice:
        if kind == "card":
            return self.pay_by_card(invoice, token=args[0])
        with moved_to(_at(days_ago, 11, 15)):
            tenant, actor = self.tenant, self.actor
            if kind == "send":
                return services.invoice_send(tenant=tenant, actor=actor, invoice=invoice)
            if kind == "bank":
                amount = Money(args[0], invoice.currency) if args[0] else None
                services.invoice_record_payment(tenant=tenant, actor=actor, invoice=invoice, amount=amount,
                                                method="bank_transfer", reference=f"BACS {invoice.number}")
            elif kind == "void":
                services.invoice_void(tenant=tenant, actor=actor, invoice=invoice, reason=args[0])
            elif kind == "uncollectible":
                services.invoice_mark_uncollectible(tenant=tenant, actor=actor, invoice=invoice)
            elif kind in ("ship", "deliver"):
                order = Order.objects.get(invoice=invoice)
                if kind == "ship":
                    services.order_fulfill(tenant=tenant, actor=actor, order=order, carrier=args[0],
                                           tracking_number=args[1], status=OrderLine.FulfillmentStatus.SHIPPED)
                else:
                    services.order_fulfill(tenant=tenant, actor=actor, order=order,
                                           status=OrderLine.FulfillmentStatus.DELIVERED)
            elif kind == "credit":
                amount, method, reason = args
                services.credit_note_create(
                    tenant=tenant, actor=actor, invoice=Invoice.objects.get(pk=invoice.pk), credit_method=method,
                    amount=Money(amount, invoice.currency) if amount else None, reason=reason,
                    metadata=dict(DEMO_MARK))
        return Invoice.objects.get(pk=invoice.pk)

    def pay_by_card(self, invoice: Invoice, *, token: str) -> Invoice:
        """Through the adapter and the simulator, as the hosted page would; by bank transfer when the
        sandbox gateway is not the simulator."""
        if not self.card_ok:
            services.invoice_record_payment(tenant=self.tenant, actor=self.actor, invoice=invoice,
                                            method="bank_transfer", reference=f"BACS {invoice.number}")
            return Invoice.objects.get(pk=invoice.pk)
        with in_process_gateway():
            services.invoice_pay(tenant=self.tenant, actor=self.actor, invoice=invoice, payment_token=token)
        return Invoice.objects.get(pk=invoice.pk)


@demo_step
def step_billing(ctx: DemoContext) -> None:
    tenant = Tenant(ctx.merchant, livemode=False)
    if scoped(Invoice, tenant=tenant).filter(metadata__demo=DEMO).exists():
        return
    demo = _Demo(ctx)
    account = GatewayAccount.objects.filter(merchant=ctx.merchant, livemode=False).first()
    demo.card_ok = bool(account and account.uses_simulator and django_settings.NMI_SIMULATOR_ENABLED)
    demo.tax_and_settings()
    for spec in sorted(SPECS, key=lambda s: -(s.issued if s.issued is not None else -1)):
        demo.run(spec)
    services.invoices_mark_overdue(as_of=now().date())  # what the nightly job would have done
    made = list(scoped(Invoice, tenant=tenant).filter(metadata__demo=DEMO).values_list("status", flat=True))
    orders = scoped(Order, tenant=tenant).filter(invoice__metadata__demo=DEMO).count()
    notes = scoped(CreditNote, tenant=tenant).filter(invoice__metadata__demo=DEMO).count()
    ctx.notes.append(f"Demo invoices: {len(made)} in {len(set(made))} statuses, {orders} orders, {notes} credit notes"
                     + ("" if demo.card_ok else " (card payments recorded as bank transfers: no simulator)"))
