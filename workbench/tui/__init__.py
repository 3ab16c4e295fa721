"""The terminal UI: presents the core, owns no logic of its own."""
