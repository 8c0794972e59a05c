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


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level, logging.INFO))
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # CPU-feature probing chatter
