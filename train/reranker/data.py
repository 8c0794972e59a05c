"""Training examples from SQuAD: sentence pairs for the reranker, sentence windows for the answerability model."""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citebot.index.ingest.articles import make_article
from citebot.index.ingest.sentences import split_article
from citebot.index.search.hybrid import NAME
from citebot.index.search.rerank_text import passage, window
from train.reranker.recipe import AUXILIARY, IMPOSSIBLE_WEIGHT, NEGATION_SHARE, STANDARD, SWAP_SHARE, UNRELATED_SHARE, Pair, Recipe


def squad(path: Path, only_impossible: bool = False) -> list[dict]:  # type: ignore[type-arg]
    """Paragraphs as {group, title, sentences, questions}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for doc in data["data"]:
        title = doc["title"]
        for n, para in enumerate(doc["paragraphs"]):
            article = make_article(para["context"], None, id=f"{title}/{n}", title=title)
            sentences = [(s.char_start, s.char_end, s.text) for s in split_article(article)]
            qs = []
            for qa in para["qas"]:
                impossible = bool(qa.get("is_impossible", False))
                if only_impossible and not impossible:
                    continue
                positives: set[int] = set()  # the sentences an answer starts in
                spans = {}  # sentence -> the first answer wholly inside it, as characters of the sentence
                for a in qa.get("answers", []):
                    x, n = a["answer_start"], len(a["text"])
                    for i, (s, e, _) in enumerate(sentences):
                        if s <= x < e:
                            positives.add(i)
                            if x + n <= e and i not in spans:
                                spans[i] = (x - s, x - s + n)
                if not impossible and not positives:
                    continue
                qs.append({"id": qa["id"], "q": " ".join(qa["question"].split()), "pos": positives, "impossible": impossible,
                           "spans": spans,
                           "answers": [a["text"].lower() for a in qa.get("answers", [])]})
            out.append({"group": title, "title": title, "sentences": [t for _, _, t in sentences], "questions": qs})
    return out


@dataclass
class Embedded:
    """Every sentence of the paragraphs (flat) and every question, embedded by the bi-encoder."""
    texts: list[str]
    owner: np.ndarray  # sentence -> its paragraph
    offset: np.ndarray  # paragraph -> its first sentence
    groups: np.ndarray  # sentence -> its article
    svec: np.ndarray
    questions: list[tuple[int, dict]]  # type: ignore[type-arg]
    qvec: np.ndarray


def embedded(paragraphs: list[dict], encoder) -> Embedded:  # type: ignore[no-untyped-def,type-arg]
    texts = [s for p in paragraphs for s in p["sentences"]]
    owner = np.asarray([i for i, p in enumerate(paragraphs) for _ in p["sentences"]])
    print(f"embedding {len(texts)} sentences for hard negatives", flush=True)
    questions = [(pi, q) for pi, p in enumerate(paragraphs) for q in p["questions"]]
    return Embedded(texts, owner, np.concatenate([[0], np.cumsum([len(p["sentences"]) for p in paragraphs])]),
                    np.asarray([paragraphs[i]["group"] for i in owner]),
                    encoder.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True), questions,
                    encoder.encode([q["q"] for _, q in questions], batch_size=64, normalize_embeddings=True, convert_to_numpy=True))


def make_pairs(paragraphs: list[dict], encoder, rng: random.Random,  # type: ignore[no-untyped-def,type-arg]
               recipe: Recipe = STANDARD) -> list[Pair]:
    e = embedded(paragraphs, encoder)
    texts, owner, offset, groups, svec, questions, qvec = e.texts, e.owner, e.offset, e.groups, e.svec, e.questions, e.qvec
    pairs: list[Pair] = []
    for (pi, q), v in zip(questions, qvec, strict=True):
        para = paragraphs[pi]
        lo, hi = int(offset[pi]), int(offset[pi + 1])
        chosen = {lo + i for i in q["pos"]}
        own = sorted((j for j in range(lo, hi) if j not in chosen), key=lambda j: -float(svec[j] @ v))
        chosen |= set(own[: 4 if q["impossible"] else 3])
        same_article = np.flatnonzero((groups == para["group"]) & (owner != pi))
        if recipe.skip_answer_text and q["answers"]:
            same_article = same_article[[not any(a in texts[j].lower() for a in q["answers"]) for j in same_article]]
        if same_article.size:
            best = same_article[np.argsort(-(svec[same_article] @ v))[: recipe.article_negatives]]
            chosen |= {int(j) for j in best}
        others = np.flatnonzero(groups != para["group"])
        if others.size:
            chosen.add(int(others[rng.randrange(others.size)]))
        near: set[int] = set()
        if recipe.other_articles and others.size:  # what a large collection offers: the same kind of fact elsewhere
            closest = others[np.argsort(-(svec[others] @ v))[: 4 * recipe.other_articles]]
            kept = [int(j) for j in closest if not any(a in texts[j].lower() for a in q["answers"])]  # closest first
            near = set(kept[: recipe.other_articles]) - chosen
            chosen |= near
        for j in sorted(chosen):
            label = int(owner[j] == pi and (j - lo) in q["pos"])
            text = passage(texts[j], paragraphs[owner[j]]["title"])
            found = q["spans"].get(j - lo) if label else None
            at = len(text) - len(texts[j])  # the sentence ends the passage, after the title
            span = None if found is None else (at + found[0], at + found[1])
            same_article_other = owner[j] != pi and groups[j] == para["group"]
            weight = recipe.impossible_weight if q["impossible"] else recipe.article_weight if same_article_other else 1.0
            pairs.append(Pair(q["q"], text, label, para["group"], q["id"], q["impossible"], weight=weight, span=span,
                              source=str(groups[j]) if j in near else None))
    return pairs


def window_of(paragraph: dict, i: int) -> str:  # type: ignore[type-arg]
    """Sentence i of a paragraph with its neighbours, as the answerability model reads it."""
    s = paragraph["sentences"]
    return passage(window(s[i], s[i - 1] if i > 0 else None, s[i + 1] if i + 1 < len(s) else None), paragraph["title"])


def sentence_at(paragraph: dict, i: int) -> int:  # type: ignore[type-arg]
    """Where sentence i starts in ``window_of(paragraph, i)`` (after the title and the sentence before)."""
    s = paragraph["sentences"]
    return len(window_of(paragraph, i)) - len(window(s[i], None, s[i + 1] if i + 1 < len(s) else None))


def swapped(question: str, window_text: str, pool: list[str], rng: random.Random) -> str | None:
    """The question with one thing it names (a capitalised word after the first, or a number) replaced by
    another of the same kind from ``pool`` that the window never mentions ("When did Edison move..." for
    a window about Tesla): written to look answerable, as SQuAD 2.0's entity swaps; None without one."""
    low = window_text.lower()
    named = [m for m in NAME.finditer(question) if m.start() > 0 and len(m.group(0)) > 1]
    if not named:
        return None
    target = named[rng.randrange(len(named))].group(0)
    digits = any(c.isdigit() for c in target)
    options = sorted({w for w in pool if w != target and any(c.isdigit() for c in w) == digits
                      and not re.search(r"(?<!\w)" + re.escape(w.lower()) + r"(?!\w)", low)})
    if not options:
        return None
    return re.sub(r"(?<![\w'-])" + re.escape(target) + r"(?![\w'-])", options[rng.randrange(len(options))], question, count=1)


def negated(question: str) -> str | None:
    """The question with "not" after its first auxiliary ("What was not..."), as SQuAD 2.0's negations."""
    m = AUXILIARY.search(question)
    return None if m is None else f"{question[: m.end()]} not{question[m.end():]}"


def kept(qid: str, share: float) -> bool:
    """Whether a question is in the first `share` of all questions, in an order fixed by its id (so a
    smaller share's questions are a subset of a larger one's, and the random stream is untouched)."""
    return share >= 1.0 or int(hashlib.sha256(qid.encode()).hexdigest()[:8], 16) < share * 0x100000000


def make_windows(paragraphs: list[dict], encoder, rng: random.Random,  # type: ignore[no-untyped-def,type-arg]
                 unrelated_share: float = UNRELATED_SHARE) -> list[Pair]:
    """The answerability task's examples, one sentence window each (label: the window answers the question):
    gold, the window around the answer sentence (1); impossible, the windows around the two sentences of
    its own paragraph closest to a question written to be unanswerable (0); own-other, the closest
    window of its own paragraph that leaves the answer sentence out (0); elsewhere, the closest of another
    paragraph of its article, unless it holds an answer's text (0); unrelated, for a share of the questions,
    the closest window of another article (0); and for shares of them, the gold window with the
    question made unanswerable: a name or number swapped for another of its article (swap), or negated (0)."""
    e = embedded(paragraphs, encoder)
    vocabulary: dict[str, list[str]] = {}  # article -> the names and numbers of its paragraphs
    for para in paragraphs:
        vocabulary.setdefault(para["group"], []).extend(m.group(0) for s in para["sentences"] for m in NAME.finditer(s)
                                                        if len(m.group(0)) > 1)
    out: list[Pair] = []
    for (pi, q), v in zip(e.questions, e.qvec, strict=True):
        para = paragraphs[pi]
        lo, hi = int(e.offset[pi]), int(e.offset[pi + 1])
        own = sorted(range(hi - lo), key=lambda i: -float(e.svec[lo + i] @ v))

        def add(p_index: int, i: int, label: int, kind: str, weight: float = 1.0, q=q, para=para) -> None:  # type: ignore[no-untyped-def]
            found = q["spans"].get(i) if label else None  # the answer, as characters of the window (--span)
            at = sentence_at(paragraphs[p_index], i)
            out.append(Pair(q["q"], window_of(paragraphs[p_index], i), label, para["group"], q["id"], q["impossible"],
                            kind, weight, None if found is None else (at + found[0], at + found[1]),
                            source=paragraphs[p_index]["group"] if kind == "unrelated" else None))

        if q["impossible"]:
            for i in own[:2]:
                add(pi, i, 0, "impossible", IMPOSSIBLE_WEIGHT)
            continue
        gold = max(q["pos"], key=lambda i: float(e.svec[lo + i] @ v))
        add(pi, gold, 1, "gold")
        gold_window = window_of(para, gold)
        if rng.random() < SWAP_SHARE:
            changed = swapped(q["q"], gold_window, vocabulary[para["group"]], rng)
            if changed:
                out.append(Pair(changed, gold_window, 0, para["group"], q["id"], False, "swap"))
        if rng.random() < NEGATION_SHARE:
            changed = negated(q["q"])
            if changed:
                out.append(Pair(changed, gold_window, 0, para["group"], q["id"], False, "negation"))
        far = [i for i in own if all(abs(i - p) > 1 for p in q["pos"])]
        if far:
            add(pi, far[0], 0, "own-other")
        for kind, where in (("elsewhere", (e.groups == para["group"]) & (e.owner != pi)), ("unrelated", e.groups != para["group"])):
            if kind == "unrelated" and rng.random() >= unrelated_share:
                continue
            candidates = np.flatnonzero(where)
            for j in candidates[np.argsort(-(e.svec[candidates] @ v))[:3]]:
                other = int(e.owner[j])
                text = window_of(paragraphs[other], int(j - e.offset[other])).lower()
                if not any(a and a in text for a in q["answers"]):
                    add(other, int(j - e.offset[other]), 0, kind)
                    break
    return out
