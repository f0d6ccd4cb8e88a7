"""boards: see the README."""
