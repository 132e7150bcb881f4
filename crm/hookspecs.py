"""Every hook the core offers: the plugin contract.

Conventions (docs/plugins.md is the reference, with an example for each hook):

* Implement a hook with ``@crm.hookimpl`` on a function named exactly like the spec; you may
  leave out arguments you do not use.  An unknown or unmarked ``crm_*`` function stops start-up.
* ``crm_register_*`` hooks run once, at start-up, through ``call_all``: an exception there
  stops start-up (data integrity over uptime).
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
    """Return the peewee model classes the plugin owns.

    Called once at start-up.  Each must subclass ``crm.db.BaseModel`` and its table must be
    prefixed with the plugin's name (``loyalty_account``); a model that is not the plugin's
    own stops start-up.  The list is kept as ``host.models`` (tests create these tables);
    the schema itself is created and changed by the plugin's migrations.
    """


@hookspec
def crm_register_migrations():
    """Return a list of ``crm.migrate.MigrationSet(owner, directory)``.

    Called at start-up and by ``crm init``.  ``owner`` is the plugin's name; each owner keeps
    its own history table ``migrations_<owner>``; the core's migrations always run first.
    """


@hookspec
def crm_register_hookspecs():
    """Return modules or classes holding hookspecs the plugin offers to other plugins.

    Called once at start-up, before unknown hooks are checked.  Mark them with
    ``pluggy.HookspecMarker("crm")`` and name them ``<plugin>_...`` (never ``crm_``).
    """


@hookspec
def crm_register_blueprints(app):
    """Return a list of Flask blueprints to register on ``app`` (once, at start-up)."""


@hookspec
def crm_register_permissions():
    """Return a list of ``crm.contrib.Permission`` the plugin checks with ``crm.access.can``."""


@hookspec
def crm_register_commands(cli):
    """Add click commands to the ``crm`` command group ``cli`` (once per app, at start-up)."""


@hookspec
def crm_register_jobs(huey, app):
    """Register background or periodic tasks on ``huey`` (wrap bodies in ``crm.jobs.in_app``)."""


# -- descriptors: what the UI shows ------------------------------------------------------------

@hookspec
def crm_nav_items(user):
    """Return ``NavItem``s for the main navigation of ``user`` (on every full page)."""


@hookspec
def crm_customer_panels(customer, user):
    """Return ``Panel``s for the customer page; each is fetched lazily by htmx.

    Called for the customer page and again for each panel's own request: keep it cheap and
    do the work in ``Panel.render``.
    """


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
def crm_customer_list_filters(user):
    """Return ``ListFilter``s: filters of the customer list (and its export) for ``user``.

    The request argument is ``x_<name>``; ``where(value)`` returns a peewee expression on
    ``Customer`` that narrows the user's scope (index-backed: it runs on every list request).
    """


@hookspec
def crm_customer_form_fields(customer, user):
    """Return ``FormField``s to add to the customer form (``customer`` is None on create)."""


@hookspec
def crm_import_columns(user):
    """Return ``ImportColumn``s: columns the customer import can fill for ``user``.

    Called when an import's columns are mapped and again by each run (dry run, commit, undo),
    also in the background job.  ``parse`` validates a cell, ``save(customer, value)`` writes
    it in the batch's transaction, ``load(customer)`` (optional) gives the value undo restores.
    """


# -- decisions -----------------------------------------------------------------------------

@hookspec
def crm_validate_customer(data, customer, user):
    """Return a list of ``ValidationError`` to block a save (``customer`` is None on create).

    ``data`` is the dict of cleaned core form values about to be saved.
    """


@hookspec
def crm_permission_allowed(user, action, resource):
    """Vote on ``action`` (a permission name) for ``user`` on ``resource`` (may be None).

    Return False to deny, True to allow, None to abstain.  Any False denies; else any True
    allows; else the role's default applies.
    """


@hookspec(firstresult=True)
def crm_render_value(name, value, context):
    """Render a value for display (``name`` like ``"customer.phone"``); return Markup or None.

    The first plugin that returns something other than None wins; a str is escaped.
    """


# -- events --------------------------------------------------------------------------------

@hookspec
def crm_handle_event(event):
    """Handle a domain event (``crm.contrib.Event``) after its transaction committed.

    Names: customer.created, customer.updated, customer.deleted, customer.restored,
    activity.logged, purchase.recorded, purchase.refunded (docs/plugins.md has each payload).
    Delivery is at least once and retried on failure
    for this plugin only: use ``event.uid`` as an idempotency key.  The handler's writes
    commit together with the record of its delivery, or roll back with its failure.
    """


@hookspec
def crm_demo_data(app, rng):
    """Add the plugin's demo rows during ``crm demo`` (``rng`` is a seeded ``random.Random``)."""
