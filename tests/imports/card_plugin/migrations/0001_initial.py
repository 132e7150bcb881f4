from peewee import *


def up(migrator, db):
    class Customer(Model):
        class Meta:
            database = db
            table_name = 'customer'

    class Card(Model):
        id = AutoField()
        customer = ForeignKeyField(Customer, unique=True, on_delete='CASCADE')
        number = CharField(max_length=8)

        class Meta:
            database = db
            table_name = 'cardx_card'
    db.create_tables([Card])


def down(migrator, db):
    db.execute_sql('DROP TABLE cardx_card')
