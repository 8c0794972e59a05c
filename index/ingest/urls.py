"""What counts as a URL on the command line, and which URLs citebot fetches (http and https only)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
FETCHED_SCHEMES = ("http", "https")


def is_url(text: str) -> bool:
    """Looks like a URL of any scheme (``file://``, ``ftp://`` too: those are refused, not read as paths)."""
    return bool(SCHEME.match(text.strip()))


def scheme_problem(url: str) -> str | None:
    """Why ``url`` is not fetched, or None when it may be."""
    scheme = urlsplit(url).scheme.lower()
    return None if scheme in FETCHED_SCHEMES else f"only http and https URLs are fetched, not {scheme or 'this'}"
