"""User-facing errors: one line that says what went wrong and what to do."""


class SpotLabError(Exception):
    """Base of every error spot-lab shows to a user as a single line (no traceback)."""


class LakeError(SpotLabError):
    """The lake folder is missing, corrupt, or a write was refused."""


class QueryError(SpotLabError):
    """A query failed on an engine; the message names the engine and the statement."""


class InputError(SpotLabError):
    """A value given by the user is malformed (a date, an IP, a type, a size...)."""


class WriteError(LakeError):
    """A write was refused, by the system (a read-only lake, a full disk) or by spot-lab
    (files it did not create are in the way); the message says what was left unchanged."""
