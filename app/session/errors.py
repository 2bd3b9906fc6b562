"""The show session's one error: a line the user can act on."""

from ..errors import UserError


class SessionError(UserError):
    """An intent was refused (a source, sink, device or model that cannot run); the show goes on as it was.
    On the command line it ends the run before the show starts, as any UserError: one line, exit status 2."""
