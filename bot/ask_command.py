"""The ``citebot ask`` command: one question, or a batch, answered as text or JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TextIO

from citebot.bot.config import Settings, adopt_legacy_exports, store_for
from citebot.bot.terminal import EXIT_OK, EXIT_PARTIAL, UsageError, err
from citebot.index.errors import CitebotError, QuestionError

if TYPE_CHECKING:
    from citebot.bot.answer import Answerer
    from citebot.index.embed.embedders import Embedder
    from citebot.index.search.rerank import Reranker


def open_answerer(settings: Settings) -> Answerer:
    """The index is checked first (fails fast and cheaply). Then the models load on two threads while this
    one opens the index: ONNX Runtime releases the GIL while it reads and prepares a session and while it
    runs one, so on two cores the sessions are ready about when the index is. Each session also runs once
    there, so the first question does not pay that first run's set-up (bench/cold_ask.py)."""
    store = store_for(settings)
    if store.live() is None:
        store.reader(settings.model)  # raises the missing-index error, naming the remedy
    adopt_legacy_exports(settings, err)
    with ThreadPoolExecutor(2, thread_name_prefix="load") as loader:
        reranker = loader.submit(_ready_reranker, settings)
        embedder = loader.submit(_ready_embedder, settings)
        from citebot.bot.answer import Answerer  # the answering code loads meanwhile too

        reader = store.reader(settings.model)
        return Answerer(reader, embedder.result(), top_k=settings.top_k, abstain_below=settings.abstain_below,
                        max_question_chars=settings.max_question_chars, reranker=reranker.result())


def _ready_reranker(settings: Settings) -> Reranker | None:
    from citebot.index.search.rerank import make_reranker

    reranker = make_reranker(settings.reranker, settings.cache_dir, notify=err)
    if reranker is not None:
        reranker.score("Who?", ["It.", "They."])  # both of the pair-scoring threads
        if reranker.answerability is not None:
            reranker.answerability.score("Who?", ["It."])
    return reranker


def _ready_embedder(settings: Settings) -> Embedder:
    from citebot.index.embed.choose import query_embedder

    embedder = query_embedder(settings.model, settings.cache_dir, settings.query_encoder, notify=err)
    embedder.encode(["Who?"])
    return embedder


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
    from citebot.bot.questions import validate_question

    if args.batch is None:
        if args.question is None:
            raise UsageError('give a question, e.g. citebot ask "Who co-chaired the session?", or --batch FILE')
        validate_question(args.question, settings.max_question_chars)  # before loading anything
    elif args.question is not None:
        raise UsageError("give either a question or --batch FILE, not both")
    answerer = open_answerer(settings)
    from citebot.bot.render_text import render, terminal_width

    questions: Iterable[str] = [str(args.question)] if args.batch is None else batch_lines(args.batch)
    failed = 0
    for question in questions:
        if args.batch is not None and not question.strip():
            continue
        try:
            result = answerer.ask(question, top_k=args.top_k, as_of=args.as_of or settings.as_of, since=args.since,
                                  until=args.until, sources=args.source, literal=args.literal)
        except QuestionError as exc:
            if args.batch is None:
                raise  # one question refused: an error (exit 1), reported as the command's error
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
