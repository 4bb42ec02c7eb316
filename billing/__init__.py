"""Public schema: plans, prices and (later) Stripe subscription state and entitlements."""
