"""The one error type of bad user input: an unknown model, a corrupt file, an impossible
plan. Library modules derive their own error classes from `UserError`; the ``licfpga``
command turns any of them into one line on stderr and exit status 2 (a traceback means a
bug, not a mistake of the user's)."""

__all__ = ["UserError"]


class UserError(Exception):
    """Input the user gave that cannot be used; the message says why, in one line."""
