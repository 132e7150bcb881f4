"""The ``crm`` command: init, demo, serve, worker, user create, plugins list/new, migrations."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from flask.cli import FlaskGroup, with_appcontext


def _create_app(*_args, **_kwargs):
    from crm import create_app
    return create_app()


cli = FlaskGroup(create_app=_create_app, add_default_commands=False, add_version_option=False,
               help="The CRM's command line.")


@cli.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database (idempotent)."""
    from flask import current_app

    from crm import migrate
    applied = migrate.upgrade(current_app)
    for owner, names in applied.items():
        for name in names:
            click.echo(f"applied {owner}/{name}")
    click.echo("database is up to date: " + current_app.config["DATABASE_URL"].split("@")[-1])


@cli.command("demo")
@click.option("--customers", default=320, show_default=True)
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_command(customers, seed):
    """Fill the database with realistic demo data (idempotent)."""
    from flask import current_app

    from crm import demo, migrate
    migrate.upgrade(current_app)
    demo.load(current_app, customers=customers, seed=seed, echo=click.echo)


@cli.group("user")
def user_group():
    """Manage users."""


@user_group.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "sales", "service",
                                                          "clerk"]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@with_appcontext
def user_create(username, role, password, display_name):
    """Create a user.  The password must pass the policy (docs/security.md): at least 10
    characters, not only digits, not containing the username, not a common password."""
    from crm.accounts import services
    from crm.db import database
    with database.connection_context():
        try:
            user = services.create_user(username, password, role, display_name)
        except services.PasswordPolicyError as exc:
            raise click.ClickException("password refused: " + " ".join(exc.problems)) from None
        except services.AccountError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.username} ({user.role})")


@user_group.command("unlock")
@click.argument("username")
@with_appcontext
def user_unlock(username):
    """Forget USERNAME's failed sign-ins, so that a throttled account may sign in at once."""
    from crm.accounts import throttle
    from crm.db import database
    with database.connection_context():
        throttle.clear_account(username)
    click.echo(f"failed sign-ins of {username} forgotten")


@cli.group("plugins")
def plugins_group():
    """Inspect plugins, scaffold a new one."""


@plugins_group.command("list")
@with_appcontext
def plugins_list():
    """Each plugin with its version, hooks and whether it is enabled."""
    from flask import current_app
    rows = current_app.extensions["crm.plugins"].info()
    if not rows:
        click.echo("no plugins")
    for row in rows:
        state = "enabled" if row.enabled else "disabled"
        click.echo(f"{row.name}\t{row.version or '-'}\t{state}\t{', '.join(row.hooks)}")


@plugins_group.command("new")
@click.argument("name")
@click.option("--dir", "directory", default="plugins", show_default=True,
              type=click.Path(file_okay=False), help="the folder to write the package NAME in")
def plugins_new(name, directory):
    """Scaffold the plugin NAME in DIR/NAME: hooks, a model and its migration, a panel, a page
    with a form, an event handler and tests that pass at once (docs/plugins.md, "Tutorial").

    NAME is a lower-case Python identifier, not taken by another plugin; nothing is ever
    overwritten."""
    from crm import scaffold
    try:
        made = scaffold.create(name, directory)
    except scaffold.ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    for relative in made.files:
        click.echo(f"created {os.path.join(made.root, relative)}")
    tests = os.path.join(made.root, "tests")
    click.echo(f"\nplugin {made.name!r} ({made.package}); next steps:\n"
               f"  python -m pytest {tests}    (from the CRM's checkout: its tests pass)\n"
               f"  enable it: \"{made.entry_point}\" under crm.plugins in setup.cfg's "
               "[options.entry_points], then pip install -e .\n"
               f"  crm init    (makes its table {made.name}_note)")


@cli.group("migrations")
def migrations_group():
    """Schema migrations (one history per owner: core and each plugin)."""


@migrations_group.command("new")
@click.argument("owner")
@click.argument("name")
@with_appcontext
def migrations_new(owner, name):
    """Write a numbered skeleton migration for OWNER (core or a plugin's name)."""
    from flask import current_app

    from crm import migrate
    sets = {m.owner: m for m in migrate.all_sets(current_app)}
    if owner not in sets:
        raise click.ClickException(f"no migration history named {owner!r}: {', '.join(sets)}")
    click.echo(migrate.runner_for(sets[owner]).create(name))


@migrations_group.command("status")
@with_appcontext
def migrations_status():
    from flask import current_app

    from crm import migrate
    for owner, rows in migrate.status(current_app).items():
        for row in rows:
            click.echo(f"{owner}\t{row.name}\t{row.applied or 'pending'}")


@cli.command("worker")
@click.option("--workers", default=2, show_default=True)
@with_appcontext
def worker_command(workers):
    """Run the background job worker (huey consumer) with periodic tasks."""
    import logging

    from flask import current_app
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    huey = current_app.extensions["crm.huey"]
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", default=2, show_default=True, help="web worker processes")
@click.option("--threads", default=4, show_default=True, help="threads per worker")
@click.option("--no-worker", is_flag=True, help="do not start the job worker beside the server")
def serve_command(host, port, workers, threads, no_worker):
    """Serve with gunicorn (production WSGI), plus a job worker unless --no-worker."""
    from crm import create_app
    app = create_app()
    from crm import migrate
    from crm.db import close_all
    migrate.upgrade(app)
    close_all()     # no connection may cross gunicorn's fork (a pooled one would be shared)
    worker = None
    if not no_worker and not app.config["JOBS_IMMEDIATE"]:
        worker = subprocess.Popen([sys.executable, "-m", "crm.cli", "worker"], env=os.environ.copy())
    try:
        _gunicorn(app, host, port, workers, threads)
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()


def _gunicorn(app, host, port, workers, threads):
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)

        def load(self):
            return app

    click.echo(f"serving on http://{host}:{port}")
    Server().run()


@cli.command("remind")
@with_appcontext
def remind_command():
    """Run the reminder rules now (the daily job at REMINDERS_AT does it too)."""
    from flask import current_app

    from crm.db import database
    from crm.tasks import rules
    with database.connection_context():
        outcome = rules.run_all(current_app.config)
    found = outcome["no_contact"]
    click.echo(f"no contact: {found['tasks']} reminder tasks for {found['owners']} owners")


@cli.command("optimize")
@with_appcontext
def optimize_command():
    """Refresh the query planner's statistics now (the job worker does it daily)."""
    from crm.db import database, optimize
    with database.connection_context():
        click.echo(optimize())


@cli.command("backup")
@click.option("--no-verify", is_flag=True, help="skip the restore-and-compare verification")
@with_appcontext
def backup_command(no_verify):
    """Take a backup now (verified, recorded, old ones pruned): see docs/data.md."""
    from flask import current_app

    from crm.backups import services as backups
    outcome = backups.take(current_app, verify=not no_verify)
    click.echo(f"{outcome.file}: {outcome.size} bytes in {outcome.seconds} s, "
               f"{sum(outcome.counts.values())} rows in {len(outcome.counts)} tables")
    if outcome.problems:
        raise click.ClickException("; ".join(outcome.problems))
    click.echo("verified" if outcome.verified else "not verified (--no-verify)")


@cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@with_appcontext
def restore_command(path, yes):
    """Replace the database with the backup PATH.  Stop the server and the worker first."""
    from flask import current_app

    from crm.backups import services as backups
    if not yes:
        click.confirm(f"Replace the database {current_app.config['DATABASE_URL']} with {path}?",
                      abort=True)
    try:
        backups.restore(current_app, path)
    except (ValueError, subprocess.CalledProcessError) as exc:
        raise click.ClickException(f"restore refused: {exc}") from None
    click.echo("restored")


@cli.command("reindex")
@with_appcontext
def reindex_command():
    """Rebuild the customer search index (after an upgrade of pypinyin, or a bulk SQL load)."""
    from crm.customers import services
    from crm.customers.models import Contact, Customer
    from crm.db import database
    count = 0
    with database.connection_context():
        ids = [c.id for c in Customer.select(Customer.id)]
        for start in range(0, len(ids), 500):
            with database.atomic():
                customers = list(Customer.select().where(Customer.id.in_(ids[start:start + 500])))
                contacts: dict = {}
                for contact in Contact.select().where(
                        Contact.customer.in_([c.id for c in customers])):
                    contacts.setdefault(contact.customer_id, []).append(contact)
                for customer in customers:
                    services.refresh_search(customer, contacts.get(customer.id, []))
                    count += 1
    click.echo(f"{count} customers reindexed")


def main():
    cli.main(prog_name="crm")


if __name__ == "__main__":
    main()
