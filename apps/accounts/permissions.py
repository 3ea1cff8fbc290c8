"""Roles and the permission matrix of page 054 (Settings > Team Members).

The page's matrix has no column for Member; its prose says Members view and manage customers,
create subscriptions and invoices and view payment history and reports, but cannot manage the team,
API keys or settings. That is what MEMBER gets here.
"""
from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    SUPPORT = "support", "Support"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Permission(models.TextChoices):
    VIEW_DASHBOARD = "view_dashboard", "View dashboard"
    MANAGE_PRODUCTS = "manage_products", "Manage products"
    MANAGE_CUSTOMERS = "manage_customers", "Manage customers"
    PROCESS_REFUNDS = "process_refunds", "Process refunds"
    VIEW_FINANCIAL_DATA = "view_financial_data", "View financial data"
    MANAGE_TEAM = "manage_team", "Manage team"
    ACCOUNT_SETTINGS = "account_settings", "Account settings"
    API_KEYS = "api_keys", "API keys"
    MANAGE_BILLING = "manage_billing", "Manage billing and plan"


P = Permission
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(P.values),
    Role.ADMIN: frozenset(P.values) - {P.MANAGE_BILLING},
    Role.MANAGER: frozenset({P.VIEW_DASHBOARD, P.MANAGE_PRODUCTS, P.MANAGE_CUSTOMERS, P.PROCESS_REFUNDS,
                             P.VIEW_FINANCIAL_DATA}),
    Role.SUPPORT: frozenset({P.VIEW_DASHBOARD, P.MANAGE_CUSTOMERS, P.PROCESS_REFUNDS}),
    Role.MEMBER: frozenset({P.VIEW_DASHBOARD, P.MANAGE_CUSTOMERS, P.VIEW_FINANCIAL_DATA}),
    Role.VIEWER: frozenset({P.VIEW_DASHBOARD, P.VIEW_FINANCIAL_DATA}),
}


def role_has(role: str, permission: str) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


# Only owners may grant or take away the owner role; admins manage everyone else (page 054).
def can_assign_role(actor_role: str, target_role: str) -> bool:
    if actor_role == Role.OWNER:
        return True
    return actor_role == Role.ADMIN and target_role != Role.OWNER
