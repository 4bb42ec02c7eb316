"""Who changed which field from what to what, when, and through which channel."""
