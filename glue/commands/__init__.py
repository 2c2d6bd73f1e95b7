"""Subcommands of `mockbook`, one small module per area."""
