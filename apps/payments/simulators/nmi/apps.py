from django.apps import AppConfig


class NmiSimulatorConfig(AppConfig):
    name = "apps.payments.simulators.nmi"
    label = "nmi_sim"
    verbose_name = "NMI simulator"
    default_auto_field = "django.db.models.BigAutoField"
