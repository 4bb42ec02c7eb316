"""People who sign in: per-tenant users (and the platform operators in the public schema)."""
