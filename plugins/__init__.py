"""Industry modules. Core talks to them only through the hooks in hookspecs.py."""
