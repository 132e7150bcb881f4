"""Hooks the example plugin offers to other plugins (``crm_register_hookspecs``).

Named ``example_...``: a plugin's own hooks carry its name; ``crm_`` is the core's prefix.
Implement them with ``@hookimpl(optionalhook=True)`` so that your plugin still starts when the
example plugin is not installed or is disabled.
"""
import pluggy

hookspec = pluggy.HookspecMarker("crm")


@hookspec
def example_panel_lines(customer):
    """Return a list of short strings shown under the note in the example panel."""
