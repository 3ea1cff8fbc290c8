from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Merchants and team"  # allauth's app is also called "Accounts" in admin
    default_auto_field = "django.db.models.BigAutoField"
