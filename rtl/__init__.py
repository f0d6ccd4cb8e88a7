"""rtl: see the README."""
