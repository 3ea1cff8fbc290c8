"""/v2 checkout routes, each named after its reference operation id (the tenancy probes use the names)."""
from .api import links, sessions

urlpatterns = [*links.urlpatterns, *sessions.urlpatterns]
