"""All configuration, read from the environment (and a ``.env`` file) in this one place.

Variables set in the real environment win over ``.env``. Secrets are kept out of ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from citebot.bot.confidence import default_threshold
from citebot.index.embed.embedders import DEFAULT_MODEL, Embedder
from citebot.index.embed.model_cache import default_cache_dir
from citebot.index.errors import CitebotError
from citebot.index.records import MAX_ARTICLE_CHARS
from citebot.index.store.base import Store

DEFAULT_INDEX_DIR = "citebot_index"
DEFAULT_TOP_K = 5
DEFAULT_MAX_QUESTION_CHARS = 1000


class ConfigError(CitebotError):
    pass


def load_dotenv_file(path: str | None = None) -> None:
    """Read ``.env`` from the working directory (or ``path``) without overriding the environment."""
    from dotenv import load_dotenv

    load_dotenv(path or Path.cwd() / ".env", override=False)


def _date(env: Mapping[str, str], name: str) -> date | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a date as YYYY-MM-DD, got {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < low:
        raise ConfigError(f"{name} must be at least {low}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number of seconds, got {value:g}")
    return value


def _choice(env: Mapping[str, str], name: str, options: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or options[0]
    if value not in options:
        raise ConfigError(f"{name} must be one of {', '.join(options)}, got {value!r}")
    return value


def _reranker(raw: str) -> str:
    value = raw.strip()
    if value.lower() in ("", "builtin", "none"):
        return value.lower() or "builtin"
    return value


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    index_dir: Path = Path(DEFAULT_INDEX_DIR)
    top_k: int = DEFAULT_TOP_K
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    as_of: date | None = None  # the reference date of relative time phrases (CITEBOT_AS_OF); None: today
    abstain_below: float = field(default_factory=default_threshold)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    port: int = 3000
    allowed_channels: frozenset[str] = frozenset()
    allowed_users: frozenset[str] = frozenset()
    log_level: str = "INFO"
    watch_dir: Path | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)  # model exports, once per machine (CITEBOT_CACHE_DIR)
    query_encoder: str = "auto"  # auto: the model's ONNX export in cache_dir; torch: always sentence-transformers
    build_encoder: str = "auto"  # what writes sentence vectors: auto (the model's ONNX export), int8 (its
    # quantised variant) or torch (the model itself)
    max_article_chars: int = MAX_ARTICLE_CHARS  # longer articles are skipped with the reason
    feeds: tuple[str, ...] = ()  # RSS/Atom feeds `serve` follows (CITEBOT_FEEDS)
    feed_interval: float = 300.0  # seconds between polls of each feed
    fetch_timeout: float = 20.0  # seconds for one HTTP request (pages and feeds)
    fetch_retries: int = 3  # retries of a 429/5xx answer or a network error, with backoff
    store: str = "local"  # local (FAISS + tantivy + SQLite in index_dir) or milvus
    milvus_uri: str | None = None  # a file path (milvus-lite) or http(s)://host:19530; default index_dir/milvus.db
    milvus_token: str | None = field(default=None, repr=False)
    milvus_collection: str = "citebot"
    milvus_index: str = "FLAT"  # the sentence vectors' index in Milvus: FLAT (exact), HNSW, IVF_FLAT, IVF_SQ8, DISKANN
    reranker: str = "builtin"  # builtin, none, a reranker artifact (.npz) or a sentence-transformers CrossEncoder

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def ids(name: str) -> frozenset[str]:
            return frozenset(x.strip() for x in env.get(name, "").split(",") if x.strip())

        api = env.get("SLACK_API_URL", "").strip() or cls.slack_api_url
        return cls(
            model=env.get("CITEBOT_MODEL", "").strip() or DEFAULT_MODEL,
            index_dir=Path(env.get("CITEBOT_INDEX_DIR", "").strip() or DEFAULT_INDEX_DIR).expanduser(),
            top_k=_int(env, "CITEBOT_TOP_K", DEFAULT_TOP_K),
            max_question_chars=_int(env, "CITEBOT_MAX_QUESTION_CHARS", DEFAULT_MAX_QUESTION_CHARS),
            as_of=_date(env, "CITEBOT_AS_OF"),
            abstain_below=_float(env, "CITEBOT_ABSTAIN_BELOW", default_threshold()),
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_api_url=api if api.endswith("/") else api + "/",
            port=_int(env, "PORT", 3000),
            allowed_channels=ids("CITEBOT_ALLOWED_CHANNELS"),
            allowed_users=ids("CITEBOT_ALLOWED_USERS"),
            log_level=(env.get("CITEBOT_LOG_LEVEL", "").strip() or "INFO").upper(),
            cache_dir=Path(env.get("CITEBOT_CACHE_DIR", "").strip() or default_cache_dir()).expanduser(),
            query_encoder=_choice(env, "CITEBOT_QUERY_ENCODER", ("auto", "onnx", "torch")),
            build_encoder=_choice(env, "CITEBOT_BUILD_ENCODER", ("auto", "torch", "int8")),
            reranker=_reranker(env.get("CITEBOT_RERANKER", "")),
            store=_choice(env, "CITEBOT_STORE", ("local", "milvus")),
            milvus_uri=env.get("CITEBOT_MILVUS_URI", "").strip() or None,
            milvus_token=env.get("CITEBOT_MILVUS_TOKEN") or None,
            milvus_collection=env.get("CITEBOT_MILVUS_COLLECTION", "").strip() or "citebot",
            milvus_index=env.get("CITEBOT_MILVUS_INDEX", "").strip().upper() or "FLAT",
            max_article_chars=_int(env, "CITEBOT_MAX_ARTICLE_CHARS", MAX_ARTICLE_CHARS),
            feeds=tuple(dict.fromkeys(env.get("CITEBOT_FEEDS", "").replace(",", " ").split())),
            feed_interval=_positive(env, "CITEBOT_FEED_INTERVAL", 300.0),
            fetch_timeout=_positive(env, "CITEBOT_FETCH_TIMEOUT", 20.0),
            fetch_retries=_int(env, "CITEBOT_FETCH_RETRIES", 3, low=0),
            watch_dir=Path(env["CITEBOT_WATCH_DIR"]).expanduser() if env.get("CITEBOT_WATCH_DIR", "").strip() else None,
        )


def store_for(settings: Settings) -> Store:
    """The store these settings name (CITEBOT_STORE); the index directory is its local workspace."""
    from citebot.index.store.open import open_store

    return open_store(settings.store, settings.index_dir, settings.milvus_uri, settings.milvus_token,
                      settings.milvus_collection, settings.milvus_index)


def embedder_for_adding(settings: Settings, store: Store, notify: Callable[[str], None] | None = None) -> Embedder:
    """What embeds new sentences into ``store``: loaded only when something must be embedded."""
    from citebot.index.embed.choose import embedder_for_writes

    status = store.status()
    dimension = int(status["dimension"]) if status else None
    return embedder_for_writes(settings.model, settings.cache_dir, dimension, settings.build_encoder, notify=notify)


def adopt_legacy_exports(settings: Settings, notify: Callable[[str], None]) -> None:
    """Move the model exports an index from before the model cache made inside itself into the cache
    (once per index, said in one line)."""
    from citebot.index.embed.model_cache import legacy_exports

    if not legacy_exports(settings.index_dir):
        return
    from citebot.index.embed.choose import adopt_index_encoders
    from citebot.index.search.rerank import adopt_index_rerankers

    freed = adopt_index_encoders(settings.index_dir, settings.cache_dir) + adopt_index_rerankers(settings.index_dir, settings.cache_dir)
    notify(f"moved the model exports of index {settings.index_dir} into the model cache {settings.cache_dir} "
           f"(once; the index is {freed / 1e6:.0f} MB smaller)")
