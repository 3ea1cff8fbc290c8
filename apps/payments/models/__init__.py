"""Payments data, one module per area: payments.py (methods, payments, the ledger, refunds, voids),
intents.py, disputes.py, payouts.py (settlement batches, payouts)."""
from .disputes import Dispute, DisputeEvidenceFile
from .intents import PaymentIntent
from .payments import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void
from .payouts import Payout, SettlementBatch

__all__ = ["Dispute", "DisputeEvidenceFile", "FeeLine", "Payment", "PaymentIntent", "PaymentMethod", "Payout",
           "Refund", "SettlementBatch", "Transaction", "Void"]
