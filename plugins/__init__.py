"""First-party plugins, each loaded exactly like a third-party one: through the entry points
of the group ``crm.plugins`` listed in setup.cfg (see docs/plugins.md)."""
