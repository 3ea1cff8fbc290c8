from django.urls import path

from . import views

# Mounted under /dashboard/ in the "dashboard" namespace by revkeen/urls.py.
dashboard_urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/export.csv", views.product_export, name="products_export"),
    path("products/new/", views.product_create, name="product_new"),
    path("products/<str:product_id>/", views.product_detail, name="product_detail"),
    path("products/<str:product_id>/archive/", views.product_archive, name="product_archive"),
    path("products/<str:product_id>/unarchive/", views.product_unarchive, name="product_unarchive"),
    path("products/<str:product_id>/delete/", views.product_delete, name="product_delete"),
    path("products/<str:product_id>/prices/", views.price_add, name="price_add"),
    path("products/<str:product_id>/prices/<str:price_id>/archive/", views.price_archive, name="price_archive"),
    path("products/<str:product_id>/prices/<str:price_id>/restore/", views.price_restore, name="price_restore"),
    path("products/<str:product_id>/benefits/", views.product_benefit_attach, name="product_benefit_attach"),
    path("products/<str:product_id>/benefits/<str:benefit_id>/detach/", views.product_benefit_detach,
         name="product_benefit_detach"),
    path("discounts/", views.discount_list, name="discounts"),
    path("discounts/new/", views.discount_create, name="discount_new"),
    path("discounts/<str:discount_id>/", views.discount_detail, name="discount_detail"),
    path("discounts/<str:discount_id>/active/", views.discount_set_active, name="discount_set_active"),
    path("discounts/<str:discount_id>/delete/", views.discount_delete, name="discount_delete"),
    path("benefits/", views.benefit_list, name="benefits"),
    path("benefits/new/", views.benefit_create, name="benefit_new"),
    path("benefits/<str:benefit_id>/", views.benefit_detail, name="benefit_detail"),
    path("benefits/<str:benefit_id>/delete/", views.benefit_delete, name="benefit_delete"),
]
