"""The merge screen: two likely duplicates, field by field, into one record."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
