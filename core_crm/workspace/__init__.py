"""Per-workspace settings, edited by the workspace admin."""
