"""The simulator's own ledger: what the "gateway" really did.

Tests assert on these rows (`SimTransaction.objects.filter(type="sale", orderid=attempt_id)`), never on
our payments tables, when they want to know whether money moved at the gateway. No full card number
and no CVV is stored here either (see cards.CardProfile): only BIN, last four, a hash and the profile.
"""
from __future__ import annotations

from django.db import models

from apps.core.clock import now


class SimAccount(models.Model):
    """One gateway merchant account, known by its private security key and its public tokenisation key."""

    name = models.CharField(max_length=200, blank=True)
    security_key = models.CharField(max_length=200, unique=True)
    tokenization_key = models.CharField(max_length=200, unique=True)
    gateway_merchant_id = models.CharField(max_length=20, help_text="Numeric id shown in webhooks.")
    currency = models.CharField(max_length=3, default="USD", help_text="Used when a request names none.")
    dup_seconds = models.PositiveIntegerField(null=True, blank=True,
                                              help_text="Duplicate window; empty = NMI_SIM_DUP_SECONDS.")
    batch_cutoff = models.CharField(max_length=5, blank=True, help_text="HH:MM; empty = NMI_SIM_BATCH_CUTOFF.")
    batch_timezone = models.CharField(max_length=64, blank=True, help_text="Empty = NMI_SIM_BATCH_TIMEZONE.")
    credits_enabled = models.BooleanField(default=False, help_text="NMI: 'In most situations credits are disabled'.")
    webhook_url = models.URLField(max_length=500, blank=True)
    webhook_signing_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self):
        return self.name or self.security_key[:12]


class CardFields(models.Model):
    """What the gateway keeps about a card (never the number itself)."""

    card_key = models.CharField(max_length=60, blank=True, help_text="cards.TEST_CARDS key; empty = generic card.")
    cc_type = models.CharField(max_length=20, blank=True)
    cc_bin = models.CharField(max_length=6, blank=True)
    cc_last4 = models.CharField(max_length=4, blank=True)
    cc_hash = models.CharField(max_length=64, blank=True)
    cc_exp = models.CharField(max_length=4, blank=True, help_text="MMYY")
    cc_funding = models.CharField(max_length=10, blank=True)
    cc_commercial = models.BooleanField(default=False)
    cc_issuer_country = models.CharField(max_length=2, blank=True)

    class Meta:
        abstract = True

    @property
    def cc_number_masked(self) -> str:
        return (self.cc_bin[:1] + "x" * 11 + self.cc_last4) if self.cc_last4 else ""


class SimToken(CardFields):
    """A Collect.js payment token: single use, expires (NMI_SIM_TOKEN_TTL_SECONDS)."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="tokens")
    token = models.CharField(max_length=64, unique=True)
    cvv_result = models.CharField(max_length=1, blank=True, help_text="M/N computed at tokenisation; never the CVV.")
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"token …{self.token[-6:]} ({self.cc_type} {self.cc_last4})"


class SimCustomer(CardFields):
    """A Customer Vault record."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="vault")
    customer_vault_id = models.CharField(max_length=64)
    billing_id = models.CharField(max_length=64, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=100, blank=True)
    address1 = models.CharField(max_length=200, blank=True)
    address2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    zip = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "customer_vault_id"], name="nmi_sim_vault_id_unique")]

    def __str__(self):
        return f"vault {self.customer_vault_id} ({self.cc_type} {self.cc_last4})"


class SimBatch(models.Model):
    """One settlement batch: everything pending settlement of an account at one daily cut-off."""

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="batches")
    batch_id = models.CharField(max_length=20, unique=True)
    processor_batch_id = models.CharField(max_length=20)
    closed_at = models.DateTimeField(help_text="The cut-off instant (the settle action's date).")
    processed_at = models.DateTimeField(default=now, help_text="When the closing actually ran.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "closed_at"], name="nmi_sim_batch_per_cutoff")]

    def __str__(self):
        return f"batch {self.batch_id} ({self.closed_at:%Y-%m-%d %H:%M} UTC)"


class SimTransaction(CardFields):
    class Type(models.TextChoices):
        SALE = "sale"
        AUTH = "auth"
        REFUND = "refund"
        CREDIT = "credit"
        VALIDATE = "validate"

    class Condition(models.TextChoices):
        # NMI Query API conditions (protocols.md §1.8).
        PENDING = "pending"  # authorised, not captured
        PENDING_SETTLEMENT = "pendingsettlement"
        IN_PROGRESS = "in_progress"  # waiting for 3-D Secure cardholder authentication
        ABANDONED = "abandoned"  # the 3-D Secure challenge was never completed
        FAILED = "failed"  # declined
        CANCELED = "canceled"  # voided
        COMPLETE = "complete"  # settled

    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="transactions")
    transaction_id = models.CharField(max_length=20, unique=True)
    type = models.CharField(max_length=10, choices=Type.choices)
    condition = models.CharField(max_length=20, choices=Condition.choices)
    orderid = models.CharField(max_length=200, blank=True, db_index=True)
    order_description = models.CharField(max_length=255, blank=True)
    ponumber = models.CharField(max_length=100, blank=True)
    amount_minor = models.BigIntegerField(help_text="Requested (sale/auth/refund) amount.")
    captured_amount_minor = models.BigIntegerField(null=True, blank=True, help_text="Auths: the captured amount.")
    currency = models.CharField(max_length=3)
    response = models.CharField(max_length=1)
    response_code = models.CharField(max_length=3)
    responsetext = models.CharField(max_length=255)
    authcode = models.CharField(max_length=6, blank=True)
    avsresponse = models.CharField(max_length=1, blank=True)
    cvvresponse = models.CharField(max_length=1, blank=True)
    customer_vault_id = models.CharField(max_length=64, blank=True, help_text="The vault record charged, if any.")
    original_transaction = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                             related_name="refunds")
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    address1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    zip = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    email = models.CharField(max_length=254, blank=True)
    ipaddress = models.CharField(max_length=45, blank=True)
    initiated_by = models.CharField(max_length=10, blank=True)
    stored_credential_indicator = models.CharField(max_length=10, blank=True)
    initial_transaction_id = models.CharField(max_length=20, blank=True)
    # 3-D Secure
    cardholder_auth = models.CharField(max_length=10, blank=True)
    cavv = models.CharField(max_length=64, blank=True)
    xid = models.CharField(max_length=64, blank=True)
    three_ds_version = models.CharField(max_length=10, blank=True)
    challenge_id = models.CharField(max_length=40, blank=True, db_index=True)
    # settlement
    settle_eligible_at = models.DateTimeField(null=True, blank=True,
                                              help_text="When it entered pendingsettlement (sale, capture, refund).")
    batch = models.ForeignKey(SimBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions")
    settled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        indexes = [models.Index(fields=["account", "condition"], name="nmi_sim_txn_condition"),
                   models.Index(fields=["account", "created_at"], name="nmi_sim_txn_created")]

    def __str__(self):
        return f"{self.type} {self.transaction_id} ({self.condition})"

    @property
    def settle_amount_minor(self) -> int:
        return self.captured_amount_minor if self.type == self.Type.AUTH else self.amount_minor


class SimAction(models.Model):
    """One `<action>` of a transaction in the Query API: sale, auth, capture, void, refund, settle, …"""

    transaction = models.ForeignKey(SimTransaction, on_delete=models.CASCADE, related_name="actions")
    action_type = models.CharField(max_length=30)
    amount_minor = models.BigIntegerField()
    date = models.DateTimeField(default=now)
    success = models.BooleanField(default=True)
    response_code = models.CharField(max_length=3, blank=True)
    response_text = models.CharField(max_length=255, blank=True)
    batch = models.ForeignKey(SimBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="actions")
    source = models.CharField(max_length=20, default="api")
    ip_address = models.CharField(max_length=45, blank=True)
    reason_code = models.CharField(max_length=20, blank=True, help_text="Chargebacks: the scheme reason code.")

    class Meta:
        ordering = ["date", "id"]

    def __str__(self):
        return f"{self.action_type} {self.amount_minor} ({'ok' if self.success else 'failed'})"


class SimChargeback(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        WON = "won"
        LOST = "lost"

    transaction = models.ForeignKey(SimTransaction, on_delete=models.CASCADE, related_name="chargebacks")
    chargeback_id = models.CharField(max_length=20, unique=True)
    reason_code = models.CharField(max_length=20)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    received_at = models.DateTimeField(default=now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"chargeback {self.chargeback_id} ({self.status})"


class SimFault(models.Model):
    """An injected fault, kept in the database so the simulator's server threads (or process) see it."""

    kind = models.CharField(max_length=40)
    endpoint = models.CharField(max_length=20, default="transact")
    match = models.JSONField(default=dict, blank=True)
    remaining = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = until cleared.")
    latency_ms = models.PositiveIntegerField(default=0)
    hang_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveIntegerField(default=0)
    hits = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.kind} on {self.endpoint} ({'∞' if self.remaining is None else self.remaining} left)"


class SimWebhookDelivery(models.Model):
    account = models.ForeignKey(SimAccount, on_delete=models.CASCADE, related_name="webhook_deliveries")
    event_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=60)
    url = models.URLField(max_length=500)
    body = models.TextField()
    signature = models.CharField(max_length=200)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class SimRequest(models.Model):
    """Every request the simulator answered (card fields masked, keys redacted), for tests and debugging."""

    account = models.ForeignKey(SimAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    endpoint = models.CharField(max_length=20)
    params = models.JSONField(default=dict)
    http_status = models.PositiveIntegerField(default=200)
    reply = models.TextField(blank=True)
    refid = models.CharField(max_length=20, blank=True)
    fault = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.endpoint} {self.params.get('type') or self.params.get('customer_vault', '')} ({self.http_status})"
