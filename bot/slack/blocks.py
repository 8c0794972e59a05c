"""Block Kit builders: pure functions from answers to Slack payloads.

Article text is untrusted. Everything taken from an article or a question is escaped
(``&``, ``<``, ``>``) so that it can never ping (``<!channel>``, ``<@U123>``) or forge a link;
the only links are ones built here from http(s) URLs. Slack's limits are respected:
at most 50 blocks, 3000 characters per text object, 2000 per button value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from citebot.bot.answer import Citation, Result
from citebot.bot.dates import annotate
from citebot.bot.render_text import over_time_lines
from citebot.index.ingest.words import STOPWORDS

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_VALUE = 2000
MAX_ANSWERS = 10
ACTION_UP = "citebot_feedback_up"
ACTION_DOWN = "citebot_feedback_down"
ACTION_SHARE = "citebot_share"
Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the three characters that start entities, mentions and links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def keywords(question: str) -> list[str]:
    """Stems of the question's content words, longest first."""
    words = {w for w in re.findall(r"[a-z0-9][a-z0-9'-]*", question.lower()) if w not in STOPWORDS and len(w) >= 3}
    stems = {w[: max(4, len(w) - 2)] if len(w) >= 6 else w for w in words}
    return sorted(stems, key=len, reverse=True)


def highlight(text: str, question: str) -> str:
    """Escaped text with the question's key words in bold (bolding never touches escapes)."""
    stems = keywords(question)
    if not stems:
        return escape(text)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(s) for s in stems) + r")[\w'-]*", re.IGNORECASE)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[pos: m.start()]))
        out.append("*" + escape(m.group(0)) + "*")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def safe_url(url: str | None) -> str | None:
    if not url or not re.match(r"^https?://[^\s<>|]+$", url):
        return None
    return escape(url)


def citation_line(n: int, c: Citation) -> str:
    title = escape(c.title or (c.path.rsplit("/", 1)[-1] if c.path else c.article_id))
    url = safe_url(c.url)
    head = f"<{url}|{title}>" if url else f"*{title}*"
    parts = [escape(p) for p in (c.source, c.published) if p]
    return f"[{n}] {head}" + (" \u00b7 " + " \u00b7 ".join(parts) if parts else "")


def number_citations(result: Result) -> tuple[list[list[int]], list[Citation]]:
    """Citation numbers per answer ([1], [2] ...), one number per distinct article."""
    order: dict[str, int] = {}
    cited: list[Citation] = []
    per_answer = []
    for answer in result.answers[:MAX_ANSWERS]:
        numbers = []
        for c in answer.citations:
            if c.article_id not in order:
                order[c.article_id] = len(order) + 1
                cited.append(c)
            numbers.append(order[c.article_id])
        per_answer.append(numbers)
    return per_answer, cited


def feedback_value(result: Result) -> str:
    ids = [f"{c.article_id}#{c.sentence_index}" for a in result.answers[:MAX_ANSWERS] for c in a.citations]
    value = {"q": result.question[:500], "a": ids}
    while len(json.dumps(value)) > MAX_VALUE and value["a"]:
        value["a"] = value["a"][:-1]
    return json.dumps(value)


def fallback_text(result: Result) -> str:
    """Plain notification text: the top quote and its source, escaped like the blocks."""
    if not result.answers:
        return result.no_answer()
    best = result.answers[0]
    c = best.citations[0]
    source = ", ".join(p for p in (c.title, c.source, c.published) if p)
    prefix = result.no_answer() + " Closest match: " if result.abstained else ""
    return truncate(escape(f"{prefix}\u201c{best.text}\u201d ({source})"), MAX_TEXT)


def answer_blocks(result: Result, *, feedback: bool = True, share: bool = False, show_question: bool = False) -> list[Block]:
    """The answer message: quotes with bold key words, numbered citations, buttons."""
    blocks: list[Block] = []
    if show_question:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate("*Q:* " + escape(result.question), MAX_TEXT)}]})
    if result.filters:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate(escape(f"Articles {result.filters['label']}"), MAX_TEXT)}]})
    if result.abstained or not result.answers:
        note = result.no_answer() + (" Closest matches:" if result.answers else "")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f":grey_question: {note}"}})
    numbers, cited = number_citations(result)
    for answer, refs in zip(result.answers[:MAX_ANSWERS], numbers, strict=True):
        marks = "".join(f"[{n}]" for n in refs)
        extra = f"  _reported by {answer.sources} sources_" if answer.sources > 1 else ""
        same = [n for c, n in zip(answer.citations, refs, strict=True) if c.verbatim]
        if len(same) > 1:
            extra += " \u00b7 _" + "".join(f"[{n}]" for n in same) + " same wording (wire copy)_"
        if answer.as_of:
            extra += f" \u00b7 *{escape(answer.as_of)}*"
        text = annotate(answer.text, answer.citations[0].published if answer.citations else None)
        quote = truncate(highlight(text, result.question), MAX_TEXT - 2 - len(marks) - len(extra))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f">{quote}\n{marks}{extra}"}})
        around = [t for t in (answer.context.before, answer.context.after) if t]
        if around:
            context = " \u2026 ".join(escape(t) for t in around)
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(f"_{context}_", MAX_TEXT)}]})
    history = over_time_lines(result, 10_000) + ([result.caution] if result.caution and result.answers else [])
    if history:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate(escape(" ".join(history)), MAX_TEXT)}]})
    if cited:
        lines = [citation_line(n, c) for n, c in enumerate(cited, start=1)]
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": truncate("\n".join(lines), MAX_TEXT)}]})
    buttons = []
    if share:
        buttons.append({"type": "button", "action_id": ACTION_SHARE, "style": "primary",
                        "text": {"type": "plain_text", "text": "Share in channel"},
                        "value": result.question[:MAX_VALUE]})
    if feedback and result.answers:
        value = feedback_value(result)
        buttons += [
            {"type": "button", "action_id": ACTION_UP, "text": {"type": "plain_text", "text": "\U0001f44d"}, "value": value},
            {"type": "button", "action_id": ACTION_DOWN, "text": {"type": "plain_text", "text": "\U0001f44e"}, "value": value},
        ]
    if buttons:
        blocks.append({"type": "actions", "block_id": "citebot_actions", "elements": buttons})
    return blocks[:MAX_BLOCKS]


def notice_blocks(text: str) -> list[Block]:
    """A one-section message for errors, refusals and instructions (text is escaped)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(escape(text), MAX_TEXT)}}]


def home_view(stats: Mapping[str, Any] | None, span: tuple[date, date] | None = None, outlets: Sequence[str] = ()) -> dict[str, Any]:
    """The App Home tab: what the bot knows (its articles' dates and outlets too) and how to ask."""
    if stats is None:
        known = "No index has been built yet. Run `citebot index build PATH...` on the bot's machine."
    else:
        known = (
            f"*{stats['articles']}* articles, *{stats['sentences']}* sentences\n"
            f"Newest article: *{escape(str(stats.get('newest_article') or 'unknown'))}*\n"
            + (f"Published from {span[0].isoformat()} to {span[1].isoformat()}\n" if span else "")
            + (f"Outlets: {escape(', '.join(outlets[:20]) + (f' and {len(outlets) - 20} more' if len(outlets) > 20 else ''))}\n"
               if outlets else "") +
            f"Index built: {escape(str(stats['built_at']))} (generation {stats.get('generation', '?')})\n"
            f"Model: `{escape(str(stats['model']))}`"
        )
    how = (
        "\u2022 Mention me in a channel: `@citebot who co-chaired the session?`\n"
        "\u2022 Send me a direct message with your question\n"
        "\u2022 Use `/citebot your question` for an answer only you see, then share it\n"
        "\u2022 Reply in a thread I answered to ask a follow-up\n"
        "\u2022 Limit a question to dates and outlets: `... this week`, `... from Reuters`, or `since:2025-08-01 source:reuters`"
    )
    return {"type": "home", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "citebot"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "I answer questions with cited sentences from news articles."}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*What I know*\n" + known}},
        {"type": "divider"},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*How to ask*\n" + how}},
    ]}
