"""The ``citebot`` command line: index build/add/status, ask, serve.

Exit status: 0 success, 1 error, 2 usage error, 3 done but something was skipped, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from typing import NoReturn, TextIO

from citebot.bot.config import Settings, load_dotenv_file
from citebot.bot.logs import quiet_libraries
from citebot.bot.terminal import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, UsageError, err
from citebot.index.errors import CitebotError, QuestionError

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "UsageError", "main", "parser", "run"]


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


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
    ask.add_argument("--since", type=iso_date, default=None, metavar="YYYY-MM-DD", help="only articles published on or after")
    ask.add_argument("--until", type=iso_date, default=None, metavar="YYYY-MM-DD", help="only articles published on or before")
    ask.add_argument("--source", action="append", default=[], metavar="OUTLET",
                     help="only articles from this outlet (repeatable; matched to the outlets the index holds)")
    ask.add_argument("--literal", action="store_true",
                     help="search the question's words as they are: no time phrase or outlet in it becomes a filter")
    ask.add_argument("--as-of", type=iso_date, default=None, metavar="YYYY-MM-DD",
                     help="the date 'this week', 'yesterday', 'in August' are read against (default $CITEBOT_AS_OF or today)")

    sub.add_parser("prepare", parents=[common], help="export the models to ONNX once per machine, into the model cache "
                                                     "($CITEBOT_CACHE_DIR; setup.sh runs it)")

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
    return dispatch(parser().parse_args(argv), out or sys.stdout)


def dispatch(args: argparse.Namespace, out: TextIO) -> int:
    try:
        settings = settings_for(args)
        if settings.log_level != "DEBUG":
            quiet_libraries()
        if args.command in ("index", "serve"):
            from citebot.index.ingest.articles import set_max_article_chars

            set_max_article_chars(settings.max_article_chars)
        if args.command == "index":
            from citebot.bot import index_commands as commands

            if args.index_command == "status":
                return commands.cmd_index_status(args, settings, out)
            if args.index_command == "remove":
                return commands.cmd_index_remove(args, settings, out)
            if args.index_command == "sync":
                return commands.cmd_index_sync(args, settings, out)
            if args.index_command == "watch":
                return commands.cmd_index_watch(args, settings)
            if args.index_command == "follow":
                return commands.cmd_index_follow(args, settings)
            if args.index_command == "export":
                return commands.cmd_index_export(settings, out)
            return commands.cmd_index_write(args, settings, out, fresh=args.index_command == "build")
        if args.command == "prepare":
            from citebot.bot.index_commands import cmd_prepare

            return cmd_prepare(settings, out)
        if args.command == "ask":
            from citebot.bot.ask_command import cmd_ask

            return cmd_ask(args, settings, out)
        from citebot.bot.slack.serve import serve

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
    args = parser().parse_args()
    try:
        code = dispatch(args, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    if args.command == "ask":
        leave(code)
    sys.exit(code)


def leave(code: int) -> NoReturn:
    """End the process without tearing the interpreter down. After ``ask`` nothing is left to write, and
    freeing the models, sessions and modules object by object took ~0.1 s of a cold ask (bench/cold_ask.py);
    logs and output are flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
