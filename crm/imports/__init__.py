"""Import of customers (with a contact), activities and purchases from CSV and XLSX files:
upload, column mapping, dry run, commit in batches, undo.  See docs/data.md, "Import"."""
