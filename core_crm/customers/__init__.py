"""Customers: accounts, contacts, leads, picklists and tags, under record security."""
