"""The REST API under /api/v1/: personal access tokens, throttling, errors, the resources."""
