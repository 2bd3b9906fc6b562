"""Errors the command line turns into one line for the user."""


class UserError(Exception):
    """Something the user can fix; printed as one line, exit status 2."""


def one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
