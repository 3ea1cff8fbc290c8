"""`manage.py load_demo`: the demo merchant, its team, an operator account and a fresh sandbox API key.

Safe to run again (`make run` runs it every time): only the demo API key changes. The logic lives in
apps.accounts.demo; other apps add their own steps in an `<app>/demo.py` module (imported here).
"""
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import module_has_submodule

from apps.accounts import demo


def _import_demo_modules() -> None:
    """Imports `apps.<app>.demo` for each of our apps, in INSTALLED_APPS order, so their steps register."""
    for config in apps.get_app_configs():
        if config.name.startswith("apps.") and module_has_submodule(config.module, "demo"):
            import_module(f"{config.name}.demo")


class Command(BaseCommand):
    help = "Loads the demo merchant (Northwind Coffee Roasters), its team and a new sandbox API key."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                            help="Where the server will answer, for the printed links.")
        parser.add_argument("--allow-service-mode", action="store_true",
                            help="Load the demo even in service mode (it creates a superuser with a published "
                                 "password: never on a server others can reach).")

    def handle(self, *args, base_url, allow_service_mode, **options):
        if getattr(settings, "RUN_MODE", "") == "service" and not allow_service_mode:
            raise CommandError("load_demo creates a superuser whose password is printed in the README; it refuses "
                               "to run in service mode. Pass --allow-service-mode on a throwaway database.")
        _import_demo_modules()
        ctx = demo.load_demo()
        base = base_url.rstrip("/")
        key = ctx.api_key_secret
        width = 78
        lines = [
            "",
            "=" * width,
            f"RevKeen is ready at {base}",
            f"  Dashboard login:  {demo.OWNER_EMAIL} / {demo.OWNER_PASSWORD}   ({ctx.merchant.name}, owner)",
            f"  Django admin:     {demo.ADMIN_EMAIL} / {demo.ADMIN_PASSWORD}  ({base}/admin/)",
            f"  Sandbox API key:  {key}",
            f"  Try it:           curl -H \"x-api-key: {key}\" {base}/v2/events",
            "",
            "  Team (same password as the owner): "
            + ", ".join(f"{m.user.email} ({m.role})" for m in ctx.members),
        ]
        if ctx.pending_invitation is not None:
            lines.append(f"  Pending invitation: {ctx.pending_invitation.email} ({ctx.pending_invitation.role})")
        if ctx.revoked_keys:
            lines.append(f"  The previous demo key ({', '.join(k.masked for k in ctx.revoked_keys)}) was revoked: "
                         "keys are stored hashed and cannot be shown twice.")
        lines.extend(f"  {note}" for note in ctx.notes)
        lines.extend(["=" * width, ""])
        self.stdout.write("\n".join(lines))
