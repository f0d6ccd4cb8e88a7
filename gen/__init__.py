"""gen: see the README."""
