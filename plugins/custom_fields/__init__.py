"""Custom fields: an administrator adds typed fields to customers from the browser (text, long
text, integer, money, date, single and multiple choice, yes/no, phone, e-mail, URL), with
sections, roles that see and edit them and bilingual help.  They appear in the customer forms,
on the customer page, as list columns and filters, in import, export and the audit history.
See docs/custom_fields.md."""
PLUGIN_NAME = "custom_fields"
__version__ = "1.0.0"
