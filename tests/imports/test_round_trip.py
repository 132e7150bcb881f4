"""Round trip: customers exported (crm/exports/services.py, CSV and XLSX, every column) and
imported into an empty database give the same data -- the same export, cell for cell."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from crm import create_app, migrate
from crm.accounts import services as accounts
from crm.accounts.models import Department, User
from crm.customers.models import Customer
from crm.db import database
from crm.exports import services as exports
from tests import conftest as base
from tests.imports.conftest import client_for, run_import


def seed_book(seed):
    """Varied customers: companies and persons, owners, tags, consents, choices, dates, text
    the export has to neutralise (a leading - or +), a last contact."""
    from crm.activities import services as activities
    seed.customer("杭州华信科技有限公司", owner="sales", phone="0571-88886666",
                  email="info@huaxin.cn", industry="软件与信息技术", size="50-249", region="杭州",
                  value_class="A", source="referral", preferred_channel="wechat",
                  address="杭州市文三路 1 号", notes="大客户\n第二行", consent_phone=True,
                  consent_wechat=True, founded_on=dt.date(2008, 5, 4), tags=["VIP", "老客户"])
    seed.customer("单丽", owner="sales2", phone="13987654321", value_class="B",
                  consent_sms=True, tags=["会员"], notes="-2 度也来")
    seed.customer("Acme Trading Ltd.", owner="manager", email="Sales@Acme.example",
                  region="上海", address="+86 路 3 号", source="website")
    person = seed.customer("张伟", owner="admin", phone="13812345678", value_class="D",
                           preferred_channel="phone")
    with seed.ctx():
        activities.log_activity(person, seed.user("admin"), "call", "called",
                                dt.datetime(2025, 3, 1, 6, 30))


def export_table(app, username="admin") -> list[list]:
    with app.test_request_context():
        database.connect(reuse_if_open=True)
        try:
            user = User.get(User.username == username)
            columns = exports.select_columns([c.name for c in exports.CORE_COLUMNS], [])
            scope = Customer.select().where(Customer.deleted_at.is_null())
            return list(exports.rows(scope, columns, user, []))
        finally:
            database.close()


@pytest.fixture
def empty_app(tmp_path):
    """Makes a second app on an empty database with the same users (a SQLite file, or a
    PostgreSQL schema of its own, dropped afterwards).  The database handle is global to the
    process: once the second app exists, every query goes to its database."""
    made = {}

    def make():
        url = base._database_url(tmp_path / "second")
        if url.startswith("postgres"):
            made["schema"] = f"{base.SCHEMA}_rt"
            url = url.replace(base.SCHEMA, made["schema"])
            _schema(url, made["schema"], create=True)
        else:
            os.makedirs(tmp_path / "second", exist_ok=True)
        made["url"] = url
        from tests.imports.card_plugin import hooks
        config = {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test",
                  "PLUGINS": [hooks], "JOBS_IMMEDIATE": True, "WTF_CSRF_ENABLED": False,
                  "BABEL_DEFAULT_LOCALE": "en", "COMPRESS_REGISTER": False}
        second = create_app(config, instance_path=str(tmp_path / "second" / "instance"))
        migrate.upgrade(second)
        with second.app_context():
            database.connect(reuse_if_open=True)
            sales = Department.create(name="Sales")
            team_a = Department.create(name="Team A", parent=sales)
            accounts.create_user("admin", base.PASSWORD, "admin", "Admin")
            accounts.create_user("manager", base.PASSWORD, "manager", "Manager", sales)
            accounts.create_user("sales", base.PASSWORD, "sales", "Sales One", team_a)
            accounts.create_user("sales2", base.PASSWORD, "sales", "Sales Two", team_a)
            database.close()
        return second
    yield make
    if not database.is_closed():
        database.close()
    if "schema" in made:
        _schema(made["url"], made["schema"], create=False)


def _schema(url: str, schema: str, create: bool) -> None:
    from crm.db import open_database
    db = open_database(url)
    db.connect()
    db.execute_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    if create:
        db.execute_sql(f"CREATE SCHEMA {schema}")
    db.close()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_into_an_empty_database_gives_the_same_data(app, seed, empty_app,
                                                                      fmt):
    seed_book(seed)
    before = export_table(app)
    assert len(before) == 5 and before[1][0].startswith("C")
    if fmt == "csv":
        data = "".join(exports.csv_chunks(iter(before))).encode("utf-8")
    else:
        data = exports.xlsx_bytes(iter(before))
    empty_app = empty_app()
    with empty_app.app_context():
        database.connect(reuse_if_open=True)
        assert Customer.select().count() == 0
        database.close()
    client = client_for(empty_app, "admin")
    job_id = run_import(client, data, name=f"customers.{fmt}", key="number")
    from crm.imports.models import Import
    with empty_app.app_context():
        database.connect(reuse_if_open=True)
        done = Import.get_by_id(job_id)
        database.close()
    assert (done.status, done.n_create, done.n_error) == ("done", 4, 0), done.message
    after = export_table(empty_app)
    assert after == before
