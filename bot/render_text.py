"""Plain-text rendering of answers for the terminal (context dimmed when colour is on).

Every line is wrapped to the width given (the terminal's, see ``terminal_width``). A word longer
than a line (a link, a path) is never broken: it stands on a line of its own, whole, so that it can
be copied and clicked.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from datetime import date
from pathlib import PurePath
from typing import TextIO

from citebot.bot.answer import Answer, Citation, Result
from citebot.bot.dates import annotate

DIM, RESET = "\x1b[2m", "\x1b[0m"


def cite(c: Citation) -> str:
    """'Title — Outlet, 2025-08-06 <link or path>' with whatever parts are known; an untitled article is
    named by its file's name (the full path is in the JSON answer)."""
    head = c.title or (PurePath(c.path).name if c.path and not c.url else c.path) or c.article_id
    parts = [p for p in (c.source, c.published) if p]
    where = c.url or (c.path if c.title else None)
    line = head + (" \u2014 " + ", ".join(parts) if parts else "")
    return line + (f" <{where}>" if where else "") + (" (same wording as another source)" if c.verbatim else "")


DEFAULT_WIDTH = 80  # when the output is not a terminal (a pipe, a file) and COLUMNS is not set
MIN_WIDTH = 30


def terminal_width(out: TextIO) -> int:
    """The width to wrap to: COLUMNS when set, else the terminal's when ``out`` is one, else 80."""
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit():
        columns = int(env)
    elif getattr(out, "isatty", lambda: False)():
        columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    else:
        columns = DEFAULT_WIDTH
    return max(MIN_WIDTH, columns)


def wrap(text: str, width: int, first: str = "", rest: str = "") -> str:
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


def render_answer(n: int, answer: Answer, width: int, color: bool) -> list[str]:
    dim = (lambda s: f"{DIM}{s}{RESET}") if color else (lambda s: s)
    quote = annotate(answer.text, answer.citations[0].published if answer.citations else None)
    lines = [wrap(f"\u201c{quote}\u201d", width, f"[{n}] ", "    ")]
    for label, text in (("before", answer.context.before), ("after", answer.context.after)):
        if text:
            lines.append(dim(wrap(f"{label}: {text}", width, "    \u00b7 ", "      ")))
    for c in answer.citations:
        lines.append(wrap(cite(c), width, "    \u2014 ", "      "))
    if answer.as_of:
        lines.append(wrap(answer.as_of + ": the newest report of a figure that changed", width, "    ", "    "))
    sources = f"reported by {answer.sources} sources \u00b7 " if answer.sources > 1 else ""
    scores = f"score {answer.score:.2f}" + (f" \u00b7 reranker {answer.rerank:+.1f}" if answer.rerank is not None else "")
    lines += [wrap(f"{sources}{scores}", width, "    ", "    "), ""]
    return lines


def short_day(iso: object) -> str:
    day = date.fromisoformat(str(iso))
    return f"{day.day} {day:%b %Y}"


def over_time_lines(result: Result, width: int) -> list[str]:
    """'Reported values, newest first: 31 (Reuters, 7 Aug 2025); 25 (...)' and same-day disagreements."""
    lines = []
    if result.timeline:
        reported = "; ".join(f"{e['value']} ({', '.join(str(p) for p in (e['source'], short_day(e['published'])) if p)})"
                             for e in result.timeline)
        lines.append(wrap(f"Reported values, newest first: {reported}", width, "", "   "))
    for c in result.conflict:
        sources = c["sources"] if isinstance(c["sources"], list) else []
        values = c["values"] if isinstance(c["values"], list) else []
        said = " vs ".join(f"{v} ({s})" for v, s in zip(values, sources, strict=True))
        lines.append(wrap(f"Sources disagree on {short_day(c['published'])}: {said}", width, "", "   "))
    return lines + ([""] if lines else [])


def render(result: Result, width: int = DEFAULT_WIDTH, color: bool = False) -> str:
    lines = [wrap(f"Q: {result.question}", width, "", "   "), ""]
    if result.filters:
        lines[-1:] = [wrap(f"   (articles {result.filters['label']})", width, "", "    "), ""]
    if result.abstained or not result.answers:
        scored = result.abstained and not result.notice  # a notice is not about the confidence
        lines += [wrap(result.no_answer() + (f" (confidence {result.confidence:.2f})" if scored else ""), width)]
        if result.abstained and result.answers:
            lines += ["Closest matches:", ""]
    for n, answer in enumerate(result.answers, start=1):
        lines += render_answer(n, answer, width, color)
    lines += over_time_lines(result, width)
    if result.caution and result.answers:
        lines += [wrap(result.caution, width), ""]
    if not result.abstained and result.answers:
        lines.append(f"confidence {result.confidence:.2f}")
    return "\n".join(lines).rstrip() + "\n"
