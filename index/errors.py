"""Errors whose message is meant for the user as it stands (no traceback needed)."""


class CitebotError(Exception):
    """Base class: ``str(error)`` is a complete, actionable message."""


class IndexMissing(CitebotError):
    pass


class IndexCorrupt(CitebotError):
    pass


class IndexMismatch(CitebotError):
    pass


class IndexBusy(CitebotError):
    pass


class ModelError(CitebotError):
    pass


class QuestionError(CitebotError):
    pass


class StoreUnavailable(CitebotError):
    """The store cannot be reached or used (a Milvus server down, a wrong token): an operator's
    problem, not the asker's; front ends log it and apologise rather than show it."""
