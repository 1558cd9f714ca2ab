"""The one exception type front ends turn into a one-line message."""


class RagError(Exception):
    """A problem the user can fix; its message is shown as is, without a traceback."""


class DocumentError(RagError):
    """A file that cannot be ingested; the message says why in one line."""
