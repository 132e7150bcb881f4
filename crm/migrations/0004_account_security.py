"""Account security: forced password change, sessions ended by a password change, the table of
recent failed sign-ins (throttling), and the indexes the audit log page filters by."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('user_account', 'must_change_password',
                            BooleanField(default=False)),
        migrator.add_column('user_account', 'password_changed_at', DateTimeField(null=True)),
        migrator.add_index('audit_log', ('action', 'at')),
        migrator.add_index('audit_log', ('user_id', 'at')),
    )

    class LoginFailure(Model):
        id = AutoField()
        at = DateTimeField(index=True)
        username = CharField(max_length=64)
        ip = CharField(max_length=64)

        class Meta:
            database = db
            table_name = 'login_failure'
            indexes = ((('username', 'at'), False), (('ip', 'at'), False))
    db.create_tables([LoginFailure])


def down(migrator, db):
    db.execute_sql('DROP TABLE login_failure')
    migrator.migrate(
        migrator.drop_index('audit_log', 'audit_log_user_id_at'),
        migrator.drop_index('audit_log', 'audit_log_action_at'),
        migrator.drop_column('user_account', 'password_changed_at'),
        migrator.drop_column('user_account', 'must_change_password'),
    )
