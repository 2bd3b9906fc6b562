"""The one error the media layer raises: a file could not be read or written, and the message names the fix."""


class MediaError(Exception):
    """A file could not be read or written; the message names the fix."""
