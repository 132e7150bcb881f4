"""Every hook the core offers: the plugin contract.

Conventions (see docs/plugins.md for the reference with examples):

* ``crm_register_*`` hooks run once, at start-up; an exception there stops start-up.
* Descriptor hooks return lists of ``crm.contrib`` dataclasses, never HTML.  They are called
  through ``safe_call``: a failing plugin is logged and only its contribution is dropped.
* ``crm_render_value`` is the only first-result hook.
* ``crm_handle_event`` receives domain events after commit, at least once: be idempotent.
"""
import pluggy

hookspec = pluggy.HookspecMarker("crm")


# -- start-up ---------------------------------------------------------------------------------

@hookspec
def crm_register_models():
    """Return the peewee model classes the plugin owns (tables prefixed with the plugin name).

    They are used for ``crm init`` on an empty database and for test fixtures; the schema
    itself is created and changed by the plugin's migrations (``crm_register_migrations``).
    """


@hookspec
def crm_register_migrations():
    """Return a list of ``crm.migrate.MigrationSet(owner, directory)``.

    Each owner keeps its own history table; the core's migrations always run first.
    """


@hookspec
def crm_register_blueprints(app):
    """Return a list of Flask blueprints to register on ``app``."""


@hookspec
def crm_register_permissions():
    """Return a list of ``crm.contrib.Permission`` the plugin checks with ``crm.access.can``."""


@hookspec
def crm_register_commands(cli):
    """Add click commands to the ``crm`` command group ``cli``."""


@hookspec
def crm_register_jobs(huey, app):
    """Register background or periodic tasks on ``huey`` (wrap work in ``app.app_context()``)."""


# -- descriptors: what the UI shows ------------------------------------------------------------

@hookspec
def crm_nav_items(user):
    """Return ``NavItem``s for the main navigation of ``user``."""


@hookspec
def crm_customer_panels(customer, user):
    """Return ``Panel``s for the customer page; each is fetched lazily by htmx."""


@hookspec
def crm_dashboard_cards(user):
    """Return ``Card``s for the dashboard; each is fetched lazily by htmx."""


@hookspec
def crm_customer_actions(customer, user):
    """Return ``Action``s (buttons) for the customer page."""


@hookspec
def crm_customer_list_columns(user):
    """Return optional ``Column``s for the customer list (batch loaders, no N+1)."""


@hookspec
def crm_customer_form_fields(customer, user):
    """Return ``FormField``s to add to the customer form (``customer`` is None on create)."""


# -- decisions -----------------------------------------------------------------------------

@hookspec
def crm_validate_customer(data, customer, user):
    """Return a list of ``ValidationError`` to block a save (``customer`` is None on create).

    ``data`` is the dict of cleaned form values about to be saved.
    """


@hookspec
def crm_permission_allowed(user, action, resource):
    """Vote on ``action`` (a permission name) for ``user`` on ``resource`` (may be None).

    Return False to deny, True to allow, None to abstain.  Any False denies; else any True
    allows; else the role's default applies.
    """


@hookspec(firstresult=True)
def crm_render_value(name, value, context):
    """Render a value for display (``name`` like ``"customer.phone"``); return Markup or None."""


# -- events --------------------------------------------------------------------------------

@hookspec
def crm_handle_event(event):
    """Handle a domain event (``crm.contrib.Event``) after its transaction committed.

    Names: customer.created, customer.updated, customer.deleted, customer.restored,
    activity.logged, purchase.recorded.  Delivery is at least once and retried on failure
    for this plugin only: use ``event.uid`` as an idempotency key.
    """


@hookspec
def crm_demo_data(app, rng):
    """Add the plugin's demo rows during ``crm demo`` (``rng`` is a seeded ``random.Random``)."""
