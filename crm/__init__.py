"""The CRM core.  ``create_app`` is the app factory; plugins import their public names here."""
from __future__ import annotations

import os

import pluggy
from flask import Flask

from crm.contrib import (Action, Card, Column, Event, FormField, ImportColumn,  # noqa: F401
                         ListFilter, NavItem, Panel, Permission, ValidationError)

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("crm")

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def resource_dir(name: str) -> str:
    """``templates`` or ``static``: the checkout's top-level folder, else the wheel's copy."""
    checkout = os.path.join(os.path.dirname(PACKAGE_DIR), name)
    if os.path.isdir(checkout) and os.path.exists(os.path.join(os.path.dirname(PACKAGE_DIR),
                                                               "setup.cfg")):
        return checkout
    return os.path.join(PACKAGE_DIR, name)


def create_app(config: dict | None = None, instance_path: str | None = None) -> Flask:
    from crm import access, config as settings, db, i18n, jobs
    from crm.plugins import PluginHost
    from crm.web import assets, security, setup as web_setup

    app = Flask("crm", template_folder=resource_dir("templates"), static_folder=None,
                instance_path=instance_path or os.environ.get("CRM_INSTANCE_PATH")
                or os.path.join(os.getcwd(), "instance"),
                instance_relative_config=True)
    settings.load(app, config)

    host = PluginHost(app.config["PLUGINS"], app.config["DISABLED_PLUGINS"])
    app.extensions["crm.plugins"] = host

    db.init_app(app)
    i18n.init_app(app)
    web_setup.init_app(app)
    security.init_app(app)
    access.register_permissions(app)
    jobs.init_app(app)

    from crm.accounts.views import bp as accounts_bp
    from crm.activities.views import bp as activities_bp
    from crm.admin.views import bp as admin_bp
    from crm.customers.views import bp as customers_bp
    import crm.customers.merge_views  # noqa: F401,E402  (their routes hang on customers_bp)
    import crm.customers.privacy_views  # noqa: F401,E402
    import crm.customers.sharing_views  # noqa: F401,E402
    import crm.customers.bulk_views  # noqa: F401,E402
    from crm.dashboard.views import bp as dashboard_bp
    from crm.backups.views import bp as backups_bp
    from crm.exports.views import bp as exports_bp
    from crm.imports.views import bp as imports_bp
    from crm.notifications.views import bp as notifications_bp
    from crm.purchases.views import bp as purchases_bp
    from crm.tasks.views import bp as tasks_bp
    for blueprint in (accounts_bp, dashboard_bp, customers_bp, exports_bp, activities_bp,
                      purchases_bp, admin_bp, backups_bp, imports_bp, tasks_bp,
                      notifications_bp):
        app.register_blueprint(blueprint)

    static_folders = [(resource_dir("static"), "")]
    for _plugin, blueprints in host.call_all("crm_register_blueprints", app=app):
        for blueprint in blueprints or []:
            app.register_blueprint(blueprint)
    host.call_all("crm_register_commands", cli=app.cli)   # per app: `crm` and runner see them
    for name, plugin in host.pm.list_name_plugin():
        plugin_static = _plugin_static(plugin)
        if plugin_static:
            static_folders.append((plugin_static, f"{name}/"))
    assets.init_app(app, static_folders)
    return app


def _plugin_static(plugin) -> str | None:
    """``plugins/<name>/static`` next to a plugin's hooks module, if any."""
    module_file = getattr(plugin, "__file__", None)
    if not module_file:
        return None
    folder = os.path.join(os.path.dirname(module_file), "static")
    return folder if os.path.isdir(folder) else None
