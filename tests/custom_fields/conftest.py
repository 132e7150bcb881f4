"""Fixtures of the custom fields' tests: the app with the plugin, definitions and values
seeded through the plugin's services in short app contexts."""
from __future__ import annotations

import pytest

from plugins.custom_fields import hooks as custom_fields_hooks
from tests.core.conftest import Seed


@pytest.fixture
def plugins():
    return [custom_fields_hooks]


@pytest.fixture
def seed(app):
    return Seed(app)


class Fields:
    def __init__(self, seed):
        self.seed = seed

    def add(self, key: str, type: str = "text", **values):
        """A definition made through the services (as the admin page does)."""
        from plugins.custom_fields import services
        data = {"key": key, "label_zh": values.pop("label_zh", key + "中文"),
                "label_en": values.pop("label_en", key.replace("_", " ").title()),
                "type": type, "filterable": True}
        data.update(values)
        admin = self.seed.user("admin")
        with self.seed.ctx():
            return services.create_field(data, admin)

    def get(self, field_id: int):
        from plugins.custom_fields.models import FieldDef
        with self.seed.ctx():
            return FieldDef.get_by_id(field_id)

    def set(self, defn, customer_id: int, value, username: str = "admin"):
        from plugins.custom_fields import services
        user = self.seed.user(username)
        with self.seed.ctx():
            return services.set_value(defn, customer_id, value, user)

    def value(self, defn, customer_id: int):
        from plugins.custom_fields import services
        with self.seed.ctx():
            return services.get_value(defn, customer_id)

    def rows(self, customer_id: int | None = None) -> int:
        from plugins.custom_fields.models import FieldValue
        with self.seed.ctx():
            query = FieldValue.select()
            if customer_id is not None:
                query = query.where(FieldValue.customer == customer_id)
            return query.count()


@pytest.fixture
def fields(seed):
    return Fields(seed)
