"""Logging with levels, and a filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re

TOKEN = re.compile(r"\b(?:xox[abpors]|xapp)-[A-Za-z0-9-]+")


class RedactSecrets(logging.Filter):
    """Replaces Slack tokens (by shape) and the configured secrets (by value) with [redacted]."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return TOKEN.sub("[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            clean += "\n" + self.redact(formatted)
            record.exc_info = None
            record.exc_text = None
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


class OwnLinesOnly(logging.Filter):
    """Passes citebot's own records only: the libraries' (sentence-transformers loading a model, httpx
    requests, slack_sdk retries before citebot's own message) are shown at the debug level alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "citebot" or record.name.startswith("citebot.")


def setup_logging(level: str, secrets: list[str]) -> None:
    """Log lines on stderr, secrets redacted; other libraries' lines only when ``level`` is DEBUG."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    if level != "DEBUG":
        handler.addFilter(OwnLinesOnly())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # CPU-feature probing chatter


def quiet_libraries() -> None:
    """For one-shot commands that set up no log handler: Python's last-resort handler (warnings and errors of
    any logger) prints citebot's own records only."""
    lastresort = logging.lastResort
    if lastresort is not None and not any(isinstance(f, OwnLinesOnly) for f in lastresort.filters):
        lastresort.addFilter(OwnLinesOnly())
