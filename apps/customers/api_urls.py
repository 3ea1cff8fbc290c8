"""/v2 routes of the customers app. Each route is named after its reference operation id (for a path
that serves several operations, the first: GET+POST /customers is `customers_list`, GET+PATCH+DELETE
/customers/{id} is `customers_get`); the tenancy probes are keyed by these names."""
from django.urls import path

from . import api

urlpatterns = [
    path("customers", api.CustomerListCreateApi.as_view(), name="customers_list"),
    path("customers/external/batch", api.CustomerExternalBatchApi.as_view(), name="customers_external_batch"),
    path("customers/external/<str:source>/<str:external_id>", api.CustomerExternalUpsertApi.as_view(),
         name="customers_external_upsert_by_external_id"),
    path("customers/<str:customer_id>", api.CustomerDetailApi.as_view(), name="customers_get"),
]
