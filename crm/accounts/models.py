"""People who use the CRM: departments (a tree) and users with one role each."""
from __future__ import annotations

from flask_login import UserMixin
from peewee import AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField

from crm.db import BaseModel, utcnow

ROLES = ("admin", "manager", "sales", "service", "clerk")


class Department(BaseModel):
    id = AutoField()
    name = CharField(max_length=100)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")

    class Meta:
        table_name = "department"

    def __str__(self) -> str:
        return self.name


class User(UserMixin, BaseModel):
    id = AutoField()
    username = CharField(max_length=64, unique=True)
    display_name = CharField(max_length=100, default="")
    password_hash = CharField(max_length=255)
    role = CharField(max_length=16, index=True)
    department = ForeignKeyField(Department, null=True, backref="users", on_delete="SET NULL")
    locale = CharField(max_length=10, null=True)
    timezone = CharField(max_length=64, null=True)
    is_active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    # migration 0004: an administrator set the password, or a demo account outside demo mode:
    # every request goes to the change-password page until the user picks their own
    must_change_password = BooleanField(default=False)
    password_changed_at = DateTimeField(null=True)   # sessions signed in before it have ended

    class Meta:
        table_name = "user_account"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def __str__(self) -> str:
        return self.name


class LoginFailure(BaseModel):
    """A failed sign-in, kept for the throttling window (crm/accounts/throttle.py)."""
    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    username = CharField(max_length=64)     # as typed, case-folded: unknown names count too
    ip = CharField(max_length=64)

    class Meta:
        table_name = "login_failure"
        indexes = ((("username", "at"), False), (("ip", "at"), False))
