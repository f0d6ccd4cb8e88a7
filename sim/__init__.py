"""sim: see the README."""
