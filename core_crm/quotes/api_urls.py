"""REST API routes of this app, under /api/v1/."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter(trailing_slash=True)
router.register("products", api.ProductViewSet, basename="api-product")
router.register("product-categories", api.ProductCategoryViewSet, basename="api-product-category")
router.register("price-books", api.PriceBookViewSet, basename="api-price-book")
router.register("quotes", api.QuoteViewSet, basename="api-quote")

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "opportunities/<int:pk>/products/",
        api.OpportunityProductsView.as_view(),
        name="api-opportunity-products",
    ),
    path(
        "opportunities/<int:pk>/products/<int:item_id>/",
        api.OpportunityProductView.as_view(),
        name="api-opportunity-product",
    ),
    *router.urls,
]
