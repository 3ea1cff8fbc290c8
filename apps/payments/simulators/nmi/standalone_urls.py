"""The URLconf of the standalone simulator server (`run_nmi_simulator`): only the simulator."""
from django.urls import include, path

urlpatterns = [path("_sim/nmi/", include("apps.payments.simulators.nmi.urls"))]
