"""Pages of this app."""

from django.urls import URLPattern, URLResolver, path

from . import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("quotes/", views.quote_list, name="quote_list"),
    path("quotes/approvals/", views.approval_inbox, name="quote_approvals"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", views.quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/lines/", views.quote_line, name="quote_line_add"),
    path("quotes/<int:pk>/lines/<int:line_pk>/", views.quote_line, name="quote_line"),
    path("quotes/<int:pk>/send/", views.quote_send, name="quote_send"),
    path(
        "quotes/<int:pk>/<str:action>/",
        views.quote_action,
        name="quote_action",
    ),
    path(
        "quotes/<int:pk>/versions/<int:number>/print/",
        views.version_print,
        name="quote_version_print",
    ),
    path(
        "quotes/<int:pk>/versions/<int:number>/pdf/",
        views.version_pdf_view,
        name="quote_version_pdf",
    ),
    path("opportunities/<int:pk>/quotes/new/", views.quote_new, name="quote_new"),
    path(
        "opportunities/<int:pk>/products/", views.opportunity_products, name="opportunity_products"
    ),
    path(
        "opportunities/<int:pk>/products/<int:item_pk>/",
        views.opportunity_product_change,
        name="opportunity_product_change",
    ),
    path("settings/products/", views.product_list, name="product_list"),
    path("settings/products/new/", views.product_edit, name="product_create"),
    path("settings/products/<int:pk>/", views.product_edit, name="product_edit"),
    path("settings/products/categories/", views.category_list, name="product_categories"),
    path("settings/price-books/", views.price_book_list, name="price_book_list"),
    path("settings/price-books/new/", views.price_book_edit, name="price_book_create"),
    path("settings/price-books/<int:pk>/", views.price_book_edit, name="price_book_edit"),
    path(
        "settings/price-books/<int:pk>/prices/<int:entry_pk>/remove/",
        views.price_remove,
        name="price_book_price_remove",
    ),
]
