"""Choose a store: ``local`` (a directory) or ``milvus`` (a URI: a file path runs milvus-lite)."""

from __future__ import annotations

from pathlib import Path

from citebot.index.errors import CitebotError
from citebot.index.store.base import Store

STORES = ("local", "milvus")


def open_store(kind: str = "local", workspace: Path | str = "citebot_index", uri: str | None = None,
               token: str | None = None, collection: str = "citebot", index_type: str = "FLAT") -> Store:
    """The store of that kind; ``workspace`` is the local directory (the local index itself, or the
    exports and state kept beside a Milvus collection)."""
    if kind == "local":
        from citebot.index.store.local.store import LocalStore

        return LocalStore(Path(workspace))
    if kind == "milvus":
        from citebot.index.store.milvus.store import MilvusStore

        return MilvusStore(Path(workspace), uri or str(Path(workspace) / "milvus.db"), token, collection, index_type)
    raise CitebotError(f"unknown store {kind!r}: use one of {', '.join(STORES)}")


def as_store(target: Store | Path | str) -> Store:
    """A store, given one or a local index directory."""
    if isinstance(target, (str, Path)):
        from citebot.index.store.local.store import LocalStore

        return LocalStore(Path(target))
    return target
