"""Subcommands of the ``prefect-alerts`` CLI that need more than a few lines: each module adds its parser and
runs it, calling the library (which never imports this package)."""
