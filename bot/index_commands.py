"""The ``citebot index`` commands: build, add, remove, sync, watch, follow, export, status."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from citebot.bot.config import Settings, adopt_legacy_exports, embedder_for_adding, store_for
from citebot.bot.terminal import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, UsageError, err, progress_bar
from citebot.index.wording import count

if TYPE_CHECKING:  # for annotations only: each command imports what it uses when it runs
    from citebot.index.ingest.fetch import Fetcher
    from citebot.index.records import Article, Skipped


def cmd_index_write(args: argparse.Namespace, settings: Settings, out: TextIO, fresh: bool) -> int:
    from citebot.index.embed.choose import document_embedder
    from citebot.index.lifecycle.sync import remember_folders

    started = time.perf_counter()
    articles, skipped = read_sources(args.paths, args.urls, settings)
    for s in skipped:
        err(f"skipped {s.path}: {s.reason}")
    store = store_for(settings)
    if not articles and fresh:
        err("no articles to index: nothing was built (the previous index, if any, is unchanged)")
        return EXIT_ERROR
    adopt_legacy_exports(settings, err)
    if fresh and not settings.model.startswith("fake:"):
        err(f"loading the encoder of {settings.model}")
    embedder = (document_embedder(settings.model, settings.cache_dir, settings.build_encoder, notify=err) if fresh
                else embedder_for_adding(settings, store, notify=err))
    err(f"indexing {count(len(articles), 'article')} (embedding what is new, then writing a new generation if anything changed)")
    report = store.write(embedder, articles, fresh=fresh,
                   progress=progress_bar("embedding"), notify=err)
    remember_folders(store, [Path(p) for p in args.paths if Path(p).is_dir()], replace=fresh)
    prepare_models(settings)
    paths = {a.id: a.path or a.id for a in articles}
    if not fresh:
        for label, ids in (("added", report.added), ("updated", report.updated),
                           ("unchanged, skipped", report.unchanged)):
            for article_id in ids:
                print(f"{label}: {paths.get(article_id, article_id)} ({article_id})", file=out)
    verb = "built" if fresh else "updated" if report.published else "nothing changed in"
    print(
        f"{verb} index {store.describe()['location']} (generation {report.generation}): "
        f"{count(report.articles_total, 'article')}, {count(report.sentences_total, 'sentence')}; "
        f"this run: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(skipped)} skipped; "
        f"{count(report.sentences_embedded, 'sentence')} embedded, {report.sentences_reused} reused "
        f"in {time.perf_counter() - started:.1f}s",
        file=out,
    )
    return EXIT_PARTIAL if skipped else EXIT_OK


def fetcher_for(settings: Settings) -> Fetcher:
    from citebot.index.ingest.fetch import Fetcher

    return Fetcher(timeout=settings.fetch_timeout, attempts=settings.fetch_retries + 1)


def read_sources(sources: list[str], url_file: str | None, settings: Settings) -> tuple[list[Article], list[Skipped]]:
    """Articles from files, folders and URLs (given, or listed one per line in ``url_file``)."""
    from citebot.index.ingest.files import load
    from citebot.index.ingest.web import load_urls, split_sources, url_list

    urls, paths = split_sources(sources)
    if url_file:
        urls += url_list(url_file)
    if not urls and not paths:
        raise UsageError("give files, folders or URLs to index (or --urls FILE with one URL per line)")
    articles: list[Article] = []
    skipped: list[Skipped] = []
    if paths:
        err(f"reading {', '.join(paths)[:200]}")
        articles, skipped = load(paths)
    if urls:
        err(f"fetching {len(urls)} URL(s)")
        with fetcher_for(settings) as fetcher:
            fetched, failed = load_urls(urls, fetcher)
        known = {a.id for a in articles}
        articles += [a for a in fetched if a.id not in known]
        skipped += failed
    return articles, skipped


def cmd_index_remove(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from citebot.index.lifecycle.sync import remove

    report = remove(store_for(settings), args.targets, notify=err)
    for target in report.unknown:
        err(f"not in the index: {target}")
    for article_id in report.change.removed:
        print(f"removed: {article_id}", file=out)
    print(report.summary(), file=out)
    for path, folder in report.returning:
        err(f"note: {path} is still in {folder}, which this index was built, synced or watched from: the next "
            f"`citebot index sync` or `index watch` of that folder adds it again. To keep it out, move or delete "
            f"the file (or rename it to start with a dot, which sync and watch skip).")
    return EXIT_PARTIAL if report.unknown else EXIT_OK


def cmd_index_sync(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from citebot.index.lifecycle.sync import sync

    folder = Path(args.folder)
    if not folder.is_dir():
        err(not_a_folder(folder))
        return EXIT_ERROR
    store = store_for(settings)
    report = sync(store, embedder_for_adding(settings, store, notify=err), folder, notify=err,
                  progress=progress_bar("embedding"))
    prepare_models(settings)
    for s in report.skipped:
        err(f"skipped {s.path}: {s.reason}")
    print(report.summary(), file=out)
    return EXIT_PARTIAL if report.skipped else EXIT_OK


def not_a_folder(folder: Path) -> str:
    what = "does not exist" if not folder.exists() else "is not a directory"
    return f"{folder} {what}: give the folder of articles to follow (sync and watch take a directory)"


def cmd_index_watch(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from citebot.bot.logs import setup_logging
    from citebot.index.lifecycle.watch import FolderWatcher

    if not Path(args.folder).is_dir():  # exactly as sync: never create or "watch" a missing folder or a file
        err(not_a_folder(Path(args.folder)))
        return EXIT_ERROR

    setup_logging(settings.log_level, [])
    store = store_for(settings)
    watcher = FolderWatcher(Path(args.folder), store, embedder_for_adding(settings, store))
    try:
        watcher.start()  # listens first, then reads what the folder already holds
        logging.getLogger("citebot.watch").info("watching folder %s (Ctrl-C to stop)", watcher.folder)
        watcher.loop()
    finally:
        watcher.stop()
    return EXIT_OK


def cmd_index_follow(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from citebot.bot.logs import setup_logging
    from citebot.index.lifecycle.feeds import FeedFollower

    setup_logging(settings.log_level, [])
    interval = args.interval if args.interval is not None else settings.feed_interval
    store = store_for(settings)
    follower = FeedFollower(args.feeds, store, embedder_for_adding(settings, store, notify=err),
                            interval=interval, fetcher=fetcher_for(settings))
    log = logging.getLogger("citebot.feeds")
    if not args.once:
        log.info("following %d feed(s) every %gs (Ctrl-C to stop)", len(follower.feeds), interval)
    try:
        reports = follower.poll_due()
        prepare_models(settings)  # a first index made from feeds is ready for `ask` without torch
        if args.once:
            return EXIT_PARTIAL if any(r.error or r.failed for r in reports) else EXIT_OK
        follower.loop()
    finally:
        follower.stop()
    return EXIT_OK


def cmd_index_export(settings: Settings, out: TextIO) -> int:
    """The local index in ``settings.index_dir`` into the Milvus store the settings name."""
    from dataclasses import replace

    from citebot.index.lifecycle.migrate import export_store

    source = store_for(replace(settings, store="local"))
    target = store_for(replace(settings, store="milvus"))
    report = export_store(source, target, notify=err, progress=progress_bar("copying"))
    print(f"exported {count(report.articles_total, 'article')}, {count(report.sentences_total, 'sentence')} "
          f"({report.sentences_embedded} embedded, {report.sentences_reused} vectors reused) from "
          f"{source.describe()['location']} to Milvus at {target.describe()['location']} "
          f"(collection {target.describe()['collection']}, generation {report.generation}) in {report.seconds:.1f}s", file=out)
    return EXIT_OK


def cmd_index_status(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = store_for(settings)
    found = store.require()
    reader = store.reader()  # report only what opens: a damaged index exits 1, naming the file
    span, outlets = reader.date_span(), reader.outlets()
    reader.close()
    status: dict[str, object] = {**store.describe(), "index_dir": str(settings.index_dir), **found,
                                 "published_from": span[0].isoformat() if span else None,
                                 "published_to": span[1].isoformat() if span else None, "outlets": outlets}
    if args.json:
        print(json.dumps(status), file=out)
    else:
        width = max(len(k) for k in status)
        for key, value in status.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else value
            print(f"{key.replace('_', ' '):<{width}}  {shown if shown not in (None, '') else '-'}", file=out)
    return EXIT_OK


def prepare_models(settings: Settings) -> None:
    """Export the encoder and the built-in reranker into the model cache when it lacks them (once per
    machine), so that neither `ask` nor `index add` needs torch."""
    from citebot.index.embed.choose import onnx_encoder
    from citebot.index.search.rerank import ensure_export

    if not settings.model.startswith("fake:") and settings.query_encoder != "torch":
        onnx_encoder(settings.model, settings.cache_dir, notify=err)
    ensure_export(settings.cache_dir, settings.reranker, notify=err)


def cmd_prepare(settings: Settings, out: TextIO) -> int:
    """`citebot prepare`: the model exports, made now rather than by the first build or question."""
    from citebot.index.embed.model_cache import size_of

    started = time.perf_counter()
    prepare_models(settings)
    size = size_of(settings.cache_dir) if settings.cache_dir.is_dir() else 0
    print(f"model cache {settings.cache_dir}: {size / 1e6:.0f} MB, ready in {time.perf_counter() - started:.1f}s", file=out)
    return EXIT_OK
