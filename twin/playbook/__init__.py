"""Playbooks: load and validate them, match alerts to them, preview and apply their actions."""
