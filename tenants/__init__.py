"""Public schema: tenants, their domains, online signup, provisioning and the workspace finder."""
