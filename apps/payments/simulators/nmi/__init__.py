"""The NMI simulator: the card gateway of sandbox mode and of the tests (ARCHITECTURE.md rule 10).

It speaks NMI's own protocol (protocols.md §1; spec/external/nmi-payment-api.txt) so that the real NMI
adapter (apps.payments.gateways.nmi) can be pointed at it unchanged: base URL `…/_sim/nmi` in place of
`https://secure.nmi.com`.

    POST     /_sim/nmi/api/transact.php      Direct Post: sale, auth, capture, void, refund, credit, validate,
                                             update; customer_vault=add_customer|update_customer|delete_customer
    GET|POST /_sim/nmi/api/query.php         Query API (XML): transactions, report_type=customer_vault
    GET      /_sim/nmi/token/Collect.js      the tokeniser script (inline variant), data-tokenization-key
    GET      /_sim/nmi/token/frame           one card field, in the simulator's own iframe
    POST     /_sim/nmi/token/tokenize        card data → single-use payment token (called by the frame)
    GET|POST /_sim/nmi/3ds/<challenge_id>    the 3-D Secure challenge page (Complete / Fail)
    *        /_sim/nmi/_control/…            faults, chargebacks, batch close, accounts, webhook replay

Mounted in the project when NMI_SIMULATOR_ENABLED (embedded and test runs); alone on its own port with
`manage.py run_nmi_simulator --port 8101`. Its ledger is its own tables (models.py): tests assert what the
gateway did there. Card numbers and CVVs are never stored, not even here: a number is resolved once
into a profile (cards.py) and only BIN, last four, a hash, the expiry and the CVV *result* are kept.

Faithful to NMI (cited where it is not obvious): urlencoded replies with every standard field present
(empty when unset), HTTP 200 even for errors, `REFID:` suffixes, response 1/2/3 and the Result Code
Table; demo security key 6457Thfj624V5r7WUwc5v6a68Zsd6YEm; NMI's test cards; amount < 1.00 declines;
AVS match with address1 888 + zip 77777, CVV match with 999, otherwise N; `dup_seconds` (0 disables,
≤ 7862400); single-use Collect.js tokens; sale/capture → pendingsettlement → complete at the batch close
with a `settle` action and batch_id; voids only before settlement ("Only transactions pending settlement
can be voided"); refunds of settled *or* pending-settlement transactions (NMI allows both; our product's
void-before / refund-after policy is enforced by our services, not by the gateway), partial refunds
accumulate and may not exceed what was captured; capture ≤ authorised; credential-on-file follow-ups
must keep the card brand; rate limit `response=3 … response_code=301` and HTTP 429.

Simulator-specific extensions and guesses (the only places it differs from, or guesses at, NMI):
1. Card details in transact replies: `cc_number` (masked as the Query API shows it, 4xxxxxxxxxxx1111),
   `cc_bin`, `cc_type`, `cc_exp`, and three fields NMI does not have at all: `cc_funding`
   (credit|debit|prepaid), `cc_product` (consumer|commercial) and `cc_issuer_country` (ISO alpha-2). The
   same three appear in query.php `<transaction>` and customer-vault records. NMI itself returns card
   details only through the Query API; the adapter falls back to query.php when a reply has none.
2. 3-D Secure challenge. NMI runs 3-DS in the browser (Gateway.js) before the sale and takes the result
   as `cardholder_auth`/`cavv`/`xid`/`three_ds_version`/`directory_server_id`. The simulator keeps those
   variables (a sale carrying `cardholder_auth=verified|attempted` and a `cavv` is authorised at once) and
   adds a server-side challenge for the challenge cards (4100000000005000, 5100000000005007, `tok_3ds`):
   the reply is `response=2&responsetext=3DS authentication required&response_code=260` (260 is NMI's
   "declined with further instructions") with a `transactionid` and an extra `three_ds_challenge_url`.
   The transaction waits in condition `in_progress` with no action. The page's Complete authorises it
   (pendingsettlement, or pending for an auth; cardholder_auth=verified, a cavv) and Fail declines it
   (failed, 260 "3DS authentication failed"); with `?return_url=` the page then redirects (303) there with
   `transactionid`, `orderid` and `condition`. The merchant reads the outcome through query.php
   (`find_attempt`). Unanswered for NMI_SIM_3DS_TTL_SECONDS, it becomes `abandoned`.
3. Sandbox test tokens (`tok_visa`, `tok_decline_300`, …; cards.TEST_TOKENS) are accepted as
   `payment_token`, never expire and may be reused; so is the Collect.js test token
   00000000-000000-000000-000000000000 (the Visa test card).
4. Decline cards and region/funding cards are ours (cards.py, `source="simulator"`); so is the cents
   rule for amounts below 1.00 (0.XX → NMI code 2XX when it exists, else 200 "DECLINE"). An expired card
   (MMYY in the past) declines with 223 "Expired card" (NMI's test mode may not check).
5. Duplicates: an earlier *approved* sale/auth of the same account with the same card, amount, currency
   and orderid inside the window → `response=3&responsetext=Duplicate transaction REFID:<n>` and nothing
   recorded. The default window, 1200 s (NMI_SIM_DUP_SECONDS), is a [GUESS] (it is an account setting at
   NMI); REFID is the reference of the refused request, not the first transaction's id — use query.php.
6. Query API: dates are written and read as UTC (YYYYMMDDhhmmss or YYYYMMDD) [GUESS: NMI uses the
   account's zone]; `action_type=settle` and `action_type=chargeback` work as filters; a chargeback is an
   `<action>` `chargeback` (and `chargeback_reversal` when won, `chargeback_lost` when lost) with an extra
   `<reason_code>` [GUESS: NMI's chargeback reporting fields are not public].
7. Webhooks (webhooks.py) use NMI's envelope and signature (§1.9); the bodies of `transaction.*.success|
   failure`, `settlement.batch.complete` and `chargeback.batch.complete` are our reading of it [GUESS].
   One delivery attempt, recorded in SimWebhookDelivery; replays resend the same event byte for byte.
8. Accounts: any key starting `sim_` opens an account on first use, as does NMI's demo key;
   `sim_security_key_<x>` and `sim_tokenization_key_<x>` belong to the same account.
   `services.sim_account_create()` makes a fresh pair. An unknown key → `Authentication Failed`.
9. Tokens live NMI_SIM_TOKEN_TTL_SECONDS (24 h) [GUESS] and belong to the account whose tokenisation key
   made them. Error texts not quoted by NMI's docs are ours and marked [GUESS] in transact.py.
10. Batch close (settlement.py) also runs lazily before every request of an account, so the gateway
    behaves as if it closed on time even when no scheduler ran. Credits are disabled unless the account
    enables them ("In most situations credits are disabled").
11. Faults (faults.py) and the control plane exist only here.
"""
