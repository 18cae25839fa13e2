"""Event-log importers (CSV with a column mapping, XES) that land business events of a process."""
