"""The ``citebot`` command line: index build/add/status, ask, serve.

Exit status: 0 success, 1 error, 2 usage error, 3 done but something was skipped, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from citebot.bot.config import Settings, embedder_for_adding, load_dotenv_file, store_for
from citebot.bot.logs import quiet_libraries
from citebot.index.errors import CitebotError, QuestionError
from citebot.index.wording import count

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(CitebotError):
    """A command line that cannot be run as given (exit status 2)."""


def err(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A tqdm bar on an interactive terminal, nothing when output is piped or logged."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=label, unit="sent", file=sys.stderr, leave=False))
        bar[0].update(done - bar[0].n)
        if done >= total:
            bar[0].close()

    return update


def cmd_index_write(args: argparse.Namespace, settings: Settings, out: TextIO, fresh: bool) -> int:
    from citebot.index.embed.onnx_encoder import document_embedder
    from citebot.index.lifecycle.sync import remember_folders

    started = time.perf_counter()
    articles, skipped = read_sources(args.paths, args.urls, settings)
    for s in skipped:
        err(f"skipped {s.path}: {s.reason}")
    store = store_for(settings)
    if not articles and fresh:
        err("no articles to index: nothing was built (the previous index, if any, is unchanged)")
        return EXIT_ERROR
    if fresh and not settings.model.startswith("fake:"):
        err(f"loading the model {settings.model}")
    embedder = (document_embedder(settings.model, settings.index_dir, settings.build_encoder) if fresh
                else embedder_for_adding(settings, store, notify=err))
    err(f"indexing {count(len(articles), 'article')} (embedding what is new, then writing a new generation if anything changed)")
    report = store.write(embedder, articles, fresh=fresh,
                   progress=progress_bar("embedding"), notify=err)
    remember_folders(store, [Path(p) for p in args.paths if Path(p).is_dir()], replace=fresh)
    prepare_reranker(settings)
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


def fetcher_for(settings: Settings):  # type: ignore[no-untyped-def]
    from citebot.index.ingest.fetch import Fetcher

    return Fetcher(timeout=settings.fetch_timeout, attempts=settings.fetch_retries + 1)


def read_sources(sources: list[str], url_file: str | None, settings: Settings) -> tuple[list, list]:  # type: ignore[type-arg]
    """Articles from files, folders and URLs (given, or listed one per line in ``url_file``)."""
    from citebot.index.ingest.files import load
    from citebot.index.ingest.web import load_urls, split_sources, url_list

    urls, paths = split_sources(sources)
    if url_file:
        urls += url_list(url_file)
    if not urls and not paths:
        raise UsageError("give files, folders or URLs to index (or --urls FILE with one URL per line)")
    articles, skipped = [], []
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
    prepare_reranker(settings)
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
        prepare_reranker(settings)  # a first index made from feeds is ready for `ask` without torch
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


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def cmd_index_status(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = store_for(settings)
    found = store.require()
    store.reader().close()  # report only what opens: a damaged index exits 1, naming the file
    status = {**store.describe(), "index_dir": str(settings.index_dir), **found}
    if args.json:
        print(json.dumps(status), file=out)
    else:
        width = max(len(k) for k in status)
        for key, value in status.items():
            print(f"{key.replace('_', ' '):<{width}}  {value if value is not None else '-'}", file=out)
    return EXIT_OK


def prepare_reranker(settings: Settings) -> None:
    """Export the built-in reranker beside a new index (once), so `ask` never needs torch."""
    from citebot.index.search.rerank import ensure_export

    if settings.index_dir.is_dir():
        ensure_export(settings.index_dir, settings.reranker, notify=err)


def open_answerer(settings: Settings):  # type: ignore[no-untyped-def]
    """Index first (fails fast and cheaply), then the models."""
    from citebot.bot.answer import Answerer
    from citebot.index.embed.onnx_encoder import query_embedder
    from citebot.index.search.rerank import make_reranker

    reader = store_for(settings).reader(settings.model)
    with ThreadPoolExecutor(1) as loader:  # the models' sessions load side by side (the GIL is released)
        reranker = loader.submit(make_reranker, settings.reranker, settings.index_dir, notify=err)
        embedder = query_embedder(settings.model, settings.index_dir, settings.query_encoder)
        return Answerer(reader, embedder, top_k=settings.top_k, abstain_below=settings.abstain_below,
                        max_question_chars=settings.max_question_chars, reranker=reranker.result())


def batch_lines(source: str) -> Iterator[str]:
    if source == "-":
        yield from (line.rstrip("\n") for line in sys.stdin)
        return
    try:
        with open(source, encoding="utf-8") as handle:
            yield from (line.rstrip("\n") for line in handle)
    except FileNotFoundError:
        raise CitebotError(f"batch file {source} not found") from None
    except UnicodeDecodeError:
        raise CitebotError(f"batch file {source} is not UTF-8 text") from None


def cmd_ask(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from citebot.bot.answer import validate_question
    from citebot.bot.render_text import render, terminal_width

    if args.batch is None:
        if args.question is None:
            raise UsageError('give a question, e.g. citebot ask "Who co-chaired the session?", or --batch FILE')
        validate_question(args.question, settings.max_question_chars)  # before loading anything
    elif args.question is not None:
        raise UsageError("give either a question or --batch FILE, not both")
    answerer = open_answerer(settings)
    questions = [args.question] if args.batch is None else batch_lines(args.batch)
    failed = 0
    for question in questions:
        if args.batch is not None and not question.strip():
            continue
        try:
            result = answerer.ask(question, top_k=args.top_k)
        except QuestionError as exc:
            failed += 1
            if args.json:
                print(json.dumps({"question": question, "error": str(exc)}), file=out, flush=True)
            else:
                err(f"{question[:80]!r}: {exc}")
            continue
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False), file=out, flush=True)
        else:
            print(render(result, width=terminal_width(out), color=out.isatty() and not os.environ.get("NO_COLOR")),
                  file=out, flush=True)
    return EXIT_PARTIAL if failed else EXIT_OK


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("must be between 1 and 100")
    return value


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)  # accepted before or after the subcommand
    common.add_argument("--index-dir", default=argparse.SUPPRESS,
                        help="index directory (default: $CITEBOT_INDEX_DIR or ./citebot_index)")
    common.add_argument("--model", default=argparse.SUPPRESS,
                        help="sentence-transformers model name or path (default: $CITEBOT_MODEL)")
    common.add_argument("--store", choices=("local", "milvus"), default=argparse.SUPPRESS,
                        help="where the index lives (default: $CITEBOT_STORE or local)")
    p = argparse.ArgumentParser(prog="citebot", parents=[common],
                                description="Answer questions about news articles with cited sentences.")
    sub = p.add_subparsers(dest="command", required=True)

    idx = sub.add_parser("index", help="build and inspect the index").add_subparsers(dest="index_command", required=True)
    build = idx.add_parser("build", parents=[common], help="build the index from scratch from files or directories")
    build.add_argument("paths", nargs="*", metavar="PATH|URL")
    build.add_argument("--urls", metavar="FILE", help="a file of page URLs to fetch, one per line")
    add = idx.add_parser("add", parents=[common], help="add new or changed articles (files, folders or page URLs); "
                                                       "unchanged ones are not re-embedded")
    add.add_argument("paths", nargs="*", metavar="PATH|URL")
    add.add_argument("--urls", metavar="FILE", help="a file of page URLs to fetch, one per line")
    remove = idx.add_parser("remove", parents=[common], help="remove articles by id, file or folder path")
    remove.add_argument("targets", nargs="+", metavar="ID|PATH")
    sync = idx.add_parser("sync", parents=[common], help="make the index mirror a folder (adds, updates, removes)")
    sync.add_argument("folder", metavar="DIR")
    watch = idx.add_parser("watch", parents=[common], help="follow a folder and ingest what changes")
    watch.add_argument("folder", metavar="DIR")
    follow = idx.add_parser("follow", parents=[common], help="poll RSS/Atom feeds and add their new items")
    follow.add_argument("feeds", nargs="+", metavar="FEED_URL")
    follow.add_argument("--interval", type=seconds, default=None, metavar="SECONDS",
                        help="seconds between polls of each feed (default $CITEBOT_FEED_INTERVAL or 300)")
    follow.add_argument("--once", action="store_true", help="poll each feed once and exit (for cron)")
    export = idx.add_parser("export", parents=[common], help="copy the local index into Milvus (vectors included)")
    export.add_argument("--to", choices=("milvus",), required=True)
    status = idx.add_parser("status", parents=[common], help="what the index holds")
    status.add_argument("--json", action="store_true")

    ask = sub.add_parser("ask", parents=[common], help="answer a question with cited sentences")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument("--batch", metavar="FILE", help="one question per line ('-' for stdin)")
    ask.add_argument("--top-k", type=positive_int, default=None, metavar="K", help="how many passages")

    serve = sub.add_parser("serve", parents=[common], help="run the Slack bot (Socket Mode unless --http)")
    serve.add_argument("--http", action="store_true", help="serve Slack's HTTP Events API instead")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default $PORT or 3000)")
    return p


def settings_for(args: argparse.Namespace) -> Settings:
    load_dotenv_file()
    env = dict(os.environ)
    if getattr(args, "index_dir", None):
        env["CITEBOT_INDEX_DIR"] = args.index_dir
    if getattr(args, "model", None):
        env["CITEBOT_MODEL"] = args.model
    if getattr(args, "store", None):
        env["CITEBOT_STORE"] = args.store
    return Settings.from_env(env)


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    out = out or sys.stdout
    try:
        settings = settings_for(args)
        if settings.log_level != "DEBUG":
            quiet_libraries()
        if args.command in ("index", "serve"):
            from citebot.index.ingest.files import set_max_article_chars

            set_max_article_chars(settings.max_article_chars)
        if args.command == "index":
            if args.index_command == "status":
                return cmd_index_status(args, settings, out)
            if args.index_command == "remove":
                return cmd_index_remove(args, settings, out)
            if args.index_command == "sync":
                return cmd_index_sync(args, settings, out)
            if args.index_command == "watch":
                return cmd_index_watch(args, settings)
            if args.index_command == "follow":
                return cmd_index_follow(args, settings)
            if args.index_command == "export":
                return cmd_index_export(settings, out)
            return cmd_index_write(args, settings, out, fresh=args.index_command == "build")
        if args.command == "ask":
            return cmd_ask(args, settings, out)
        from citebot.bot.serve import serve

        return serve(settings, http=args.http, port=args.port)
    except UsageError as exc:
        return failed(args, out, str(exc), EXIT_USAGE)
    except QuestionError as exc:
        return failed(args, out, str(exc), EXIT_ERROR, question=getattr(args, "question", None))
    except CitebotError as exc:
        return failed(args, out, str(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        return failed(args, out, "interrupted", EXIT_INTERRUPTED)


def failed(args: argparse.Namespace, out: TextIO, message: str, status: int, **context: object) -> int:
    """Report an error: one JSON object on stdout under --json (what a script reads), else a line on stderr."""
    if getattr(args, "json", False):
        record = {**{k: v for k, v in context.items() if v is not None}, "error": message, "exit_status": status}
        print(json.dumps(record, ensure_ascii=False), file=out, flush=True)
    else:
        err(f"citebot: {message}")
    return status


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        code = run()
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)


if __name__ == "__main__":
    main()
