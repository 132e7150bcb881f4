"""The community plugin's schema as of 1.0 (frozen, in the shape `python -m playhouse.migrations
sqlite:///:memory: initial -d plugins/community/migrations -t migrations_community
plugins.community.models:MODELS` writes: never edit, add the next migration instead).

Every foreign key has its index (peewee's default for ``ForeignKeyField``), and so has every
column the lists filter or order by."""
from peewee import *

# Time defaults (crm.db.utcnow) are set by the models in Python, not by the schema.


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class User(Model):
        class Meta:
            database = db
            table_name = 'user_account'

    class CommunityGroup(Model):
        name = CharField(index=True, max_length=100)
        description = TextField(default='')
        rules = TextField(default='')
        archived_at = DateTimeField(index=True, null=True)
        created_by = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        version = IntegerField(default=1)
        class Meta:
            database = db
            table_name = 'community_group'
    db.create_tables([CommunityGroup])

    class CommunityOwner(Model):
        group = ForeignKeyField(CommunityGroup, index=True, on_delete='CASCADE')
        user = ForeignKeyField(User, index=True, on_delete='CASCADE')
        class Meta:
            database = db
            table_name = 'community_owner'
            indexes = ((('group', 'user'), True),)
    db.create_tables([CommunityOwner])

    class CommunityMember(Model):
        group = ForeignKeyField(CommunityGroup, index=True, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, index=True, on_delete='CASCADE')
        role = CharField(max_length=16, default='member')
        joined_on = DateField(index=True)
        added_by = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'community_member'
            indexes = ((('group', 'customer'), True),)
    db.create_tables([CommunityMember])

    class CommunityEvent(Model):
        group = ForeignKeyField(CommunityGroup, index=True, on_delete='CASCADE')
        title = CharField(max_length=120)
        description = TextField(default='')
        location = CharField(max_length=200, default='')
        starts_at = DateTimeField(index=True)
        capacity = IntegerField(default=0)
        created_by = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'community_event'
            indexes = ((('group', 'starts_at'), False),)
    db.create_tables([CommunityEvent])

    class CommunitySignup(Model):
        event = ForeignKeyField(CommunityEvent, index=True, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, index=True, on_delete='CASCADE')
        signed_up_at = DateTimeField(index=True)
        cancelled_at = DateTimeField(null=True)
        user = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'community_signup'
            indexes = ((('event', 'customer'), True),)
    db.create_tables([CommunitySignup])

    class CommunityCheckin(Model):
        event = ForeignKeyField(CommunityEvent, index=True, on_delete='CASCADE')
        customer = ForeignKeyField(Customer, index=True, on_delete='CASCADE')
        checked_in_at = DateTimeField(index=True)
        walk_in = BooleanField(default=False)
        user = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        class Meta:
            database = db
            table_name = 'community_checkin'
            indexes = ((('event', 'customer'), True),)
    db.create_tables([CommunityCheckin])

    class CommunityTopic(Model):
        group = ForeignKeyField(CommunityGroup, index=True, on_delete='CASCADE')
        title = CharField(max_length=120)
        body = TextField(default='')
        author = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, index=True, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        last_reply_at = DateTimeField(index=True)
        replies = IntegerField(default=0)
        pinned = BooleanField(default=False)
        closed = BooleanField(default=False)
        hidden = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'community_topic'
            indexes = ((('group', 'pinned', 'last_reply_at'), False),)
    db.create_tables([CommunityTopic])

    class CommunityReply(Model):
        topic = ForeignKeyField(CommunityTopic, index=True, on_delete='CASCADE')
        body = TextField()
        author = ForeignKeyField(User, index=True, null=True, on_delete='SET NULL')
        customer = ForeignKeyField(Customer, index=True, null=True, on_delete='SET NULL')
        created_at = DateTimeField(index=True)
        hidden = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'community_reply'
    db.create_tables([CommunityReply])


def down(migrator, db):
    for table in ('community_reply', 'community_topic', 'community_checkin', 'community_signup',
                  'community_event', 'community_member', 'community_owner', 'community_group'):
        migrator.migrate(migrator.drop_table(table))
