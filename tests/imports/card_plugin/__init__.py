"""A test plugin that adds a column to the customer import (``crm_import_columns``): a loyalty
card number of 8 digits, kept in its own table ``cardx_card``."""
PLUGIN_NAME = "cardx"
__version__ = "0.0.1"
