"""Plain-text rendering of answers for the terminal."""

from __future__ import annotations

import textwrap

from bot.answer import Citation, Result

NO_ANSWER = "The articles do not answer this question."


def cite(c: Citation) -> str:
    """'Title — Outlet, 2025-08-06 <link or path>' with whatever parts are known."""
    head = c.title or c.article_id
    parts = [p for p in (c.source, c.published) if p]
    where = c.url or c.path
    line = head + (" \u2014 " + ", ".join(parts) if parts else "")
    return line + (f" <{where}>" if where else "")


def render(result: Result, width: int = 88) -> str:
    lines = [f"Q: {result.question}", ""]
    if result.abstained:
        lines += [f"{NO_ANSWER} (confidence {result.confidence:.2f})"]
        if result.answers:
            lines += ["Closest matches:", ""]
    elif not result.answers:
        lines += [NO_ANSWER]
    for n, answer in enumerate(result.answers, start=1):
        quote = textwrap.fill(f"\u201c{answer.text}\u201d", width=width, initial_indent=f"[{n}] ",
                              subsequent_indent="    ")
        lines.append(quote)
        for c in answer.citations:
            lines.append(textwrap.fill(cite(c), width=width, initial_indent="    \u2014 ", subsequent_indent="      "))
        lines.append(f"    score {answer.score:.2f}")
        lines.append("")
    if not result.abstained and result.answers:
        lines.append(f"confidence {result.confidence:.2f}")
    return "\n".join(lines).rstrip() + "\n"
