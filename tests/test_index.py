"""The index directory: build, incremental add, loading checks, crash safety."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import faiss
import numpy as np
import pytest

from citebot.bot.answer import Answerer
from citebot.index.embed.embedders import HashEmbedder
from citebot.index.errors import IndexCorrupt, IndexMismatch, IndexMissing, ModelError
from citebot.index.ingest.articles import make_article
from citebot.index.ingest.files import load
from citebot.index.search.hybrid import HybridSearch, score_gap
from citebot.index.store.local.ann import nprobe_for
from citebot.index.store.local.generations import current_generation, generation_dirs
from citebot.index.store.local.keyword import Counted
from citebot.index.store.local.reader import IndexReader
from citebot.index.store.local.writer import write
from tests.conftest import SAMPLES, Stores


def ask(reader: IndexReader, embedder: HashEmbedder, text: str, k: int = 3):  # type: ignore[no-untyped-def]
    return reader.search(embedder.encode([text])[0], k)


def test_build_then_search_cites_exact_offsets(sample_index: Path, embedder: HashEmbedder) -> None:
    reader = IndexReader.open(sample_index, model=embedder.name)
    assert reader.manifest.articles == 7 and reader.manifest.sentences == reader.vectors.ntotal
    assert reader.manifest.newest_article == "2026-03-13"
    hits = ask(reader, embedder, "How many ships were delayed during the strike?")
    assert hits[0].article_id == "port-aalborg-strike-2026-03"
    assert "120 ships" in hits[0].text
    for hit in hits:
        body = reader.article_body(hit.article_id)
        assert body is not None and body[hit.char_start:hit.char_end] == hit.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_add_same_files_twice_embeds_nothing(stores: Stores) -> None:
    articles, _ = load([SAMPLES])
    store = stores.open()
    first = HashEmbedder(256)
    report = store.write(first, articles)
    assert len(report.added) == 7 and first.encoded == report.sentences_embedded > 0
    second = HashEmbedder(256)
    again = store.write(second, load([SAMPLES])[0])
    assert second.encoded == 0 and again.sentences_embedded == 0
    assert len(again.unchanged) == 7 and again.added == [] and again.updated == []
    assert again.sentences_total == report.sentences_total
    assert again.generation == report.generation  # nothing changed: no new generation is written
    renamed = [replace(a, title="A corrected headline") if a.id == "port-aalborg-strike-2026-03" else a
               for a in load([SAMPLES])[0]]
    third = store.write(HashEmbedder(256), renamed)
    assert third.generation == report.generation + 1 and third.sentences_embedded == 0
    hit = ask(store.reader(), first, "How many ships were delayed during the strike?")[0]
    assert hit.title == "A corrected headline"


def test_add_new_article_embeds_only_its_new_sentences(stores: Stores) -> None:
    store = stores.open()
    store.write(HashEmbedder(256), load([SAMPLES])[0], fresh=True)
    embedder = HashEmbedder(256)
    news = make_article(
        "The ferry line to Helsinki resumed service on Monday. Around 60 delegates attended the event.",
        "ferry.txt")
    report = store.write(embedder, [news])
    assert report.added == [news.id]
    # "Around 60 delegates attended the event." is already indexed: its vector is reused.
    assert embedder.encoded == 1 and report.sentences_reused == 1
    reader = store.reader()
    assert ask(reader, embedder, "When did the ferry line to Helsinki resume service?")[0].article_id == news.id


def test_changed_file_replaces_old_sentences(tmp_path: Path, stores: Stores) -> None:
    store, embedder = stores.open(), HashEmbedder(256)
    path = tmp_path / "story.txt"
    path.write_text("The bridge toll will rise to 4 euros in May.", encoding="utf-8")
    store.write(embedder, load([path])[0])
    path.write_text("The bridge toll will stay at 3 euros this year.", encoding="utf-8")
    report = store.write(embedder, load([path])[0])
    assert len(report.updated) == 1 and report.articles_total == 1
    reader = store.reader()
    texts = [h.text for h in ask(reader, embedder, "bridge toll 4 euros May", k=10)]
    assert texts == ["The bridge toll will stay at 3 euros this year."]


def test_removal_takes_sentences_out(stores: Stores, embedder: HashEmbedder) -> None:
    store = stores.open()
    store.write(embedder, load([SAMPLES])[0], fresh=True)
    report = store.write(embedder, removals=["port-aalborg-strike-2026-03"])
    assert report.removed == ["port-aalborg-strike-2026-03"]
    reader = store.reader()
    hits = ask(reader, embedder, "ships delayed strike dockworkers", k=reader.manifest.sentences)
    assert all(h.article_id != "port-aalborg-strike-2026-03" for h in hits)


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing, match="citebot index build"):
        IndexReader.open(tmp_path / "nowhere")


def test_other_model_is_refused(sample_index: Path) -> None:
    with pytest.raises(IndexMismatch, match="built with model 'fake:hash-256'"):
        IndexReader.open(sample_index, model="sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(IndexMismatch, match="fake:hash-256"):
        write(sample_index, HashEmbedder(128), [make_article("A new article about trains.", None)])
    reader = IndexReader.open(sample_index)
    with pytest.raises(IndexMismatch, match="dimension|model gives 128"):
        reader.check_dimension(128)


@pytest.mark.parametrize("damage", ["manifest", "vectors", "sqlite", "pointer", "counts", "keyword", "keyword-segment",
                                    "table", "table-truncated"])
def test_corrupt_index_is_refused_clearly(sample_index: Path, damage: str) -> None:
    gen = current_generation(sample_index)
    assert gen is not None
    if damage == "manifest":
        (gen / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "vectors":
        (gen / "vectors.faiss").write_bytes(b"garbage")
    elif damage == "sqlite":
        (gen / "meta.sqlite").write_bytes(b"not a database at all" * 100)
    elif damage == "pointer":
        (sample_index / "CURRENT").write_text("gen-999999\n", encoding="utf-8")
    elif damage == "keyword":
        shutil.rmtree(gen / "keyword" / "sentences")
    elif damage == "keyword-segment":
        for segment in (gen / "keyword" / "articles").glob("*.idx"):
            segment.unlink()
    elif damage == "table":
        (gen / "table.npz").write_bytes(b"PK garbage")
    elif damage == "table-truncated":
        (gen / "table.npz").write_bytes((gen / "table.npz").read_bytes()[:300])
    else:
        data = json.loads((gen / "manifest.json").read_text())
        data["sentences"] += 1
        (gen / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        IndexReader.open(sample_index)


class ExplodingEmbedder(HashEmbedder):
    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        raise RuntimeError("power cut")


def test_failed_write_leaves_last_good_generation(sample_index: Path, embedder: HashEmbedder) -> None:
    before = current_generation(sample_index)
    with pytest.raises(RuntimeError, match="power cut"):
        write(sample_index, ExplodingEmbedder(256), [make_article("A brand new story about trams.", None)])
    assert current_generation(sample_index) == before
    assert not list(sample_index.glob(".tmp-gen-*"))
    reader = IndexReader.open(sample_index, model=embedder.name)
    assert reader.manifest.articles == 7


def test_leftovers_of_a_killed_writer_are_cleaned(sample_index: Path, embedder: HashEmbedder) -> None:
    junk = sample_index / ".tmp-gen-000009-12345"
    junk.mkdir()
    (junk / "vectors.faiss").write_bytes(b"half")
    report = write(sample_index, embedder, [make_article("Tram line 4 reopens next week in Tartu.", None)])
    assert report.generation == 10 and not junk.exists()
    assert len(generation_dirs(sample_index)) == 2
    assert IndexReader.open(sample_index).manifest.articles == 8


def test_fresh_build_replaces_everything_and_the_old_answers_until_then(stores: Stores, embedder: HashEmbedder) -> None:
    store = stores.open()
    store.write(embedder, load([SAMPLES])[0], fresh=True)
    before = store.reader()
    report = store.write(embedder, [make_article("Only this story about ferries remains.", None)], fresh=True)
    assert report.articles_total == 1
    reader = store.reader()
    assert reader.manifest.articles == 1 and reader.sentence_count() == reader.manifest.sentences == 1
    assert ask(before, embedder, "How many ships were delayed during the strike?")[0].article_id == "port-aalborg-strike-2026-03"


def test_fake_embedder_is_deterministic_and_normalised() -> None:
    a, b = HashEmbedder(64), HashEmbedder(64)
    va, vb = a.encode(["Same words here"]), b.encode(["Same words here"])
    assert np.array_equal(va, vb)
    assert abs(float(np.linalg.norm(va[0])) - 1.0) < 1e-6


def test_large_index_switches_to_approximate_search_and_stays_editable(tmp_path: Path) -> None:
    embedder = HashEmbedder(64)
    articles = load([SAMPLES])[0] + [
        make_article(f"Filler report {i} covers topic {i % 17} with several more words.", None) for i in range(3300)]
    directory = tmp_path / "ix"
    write(directory, embedder, articles, fresh=True, ann_threshold=3000)
    reader = IndexReader.open(directory)
    assert reader.manifest.faiss.startswith("IVF") and reader.vectors.ntotal == reader.manifest.sentences
    assert faiss.try_extract_index_ivf(reader.article_vectors) is not None  # as many articles: theirs too
    assert "120 ships" in ask(reader, embedder, "How many ships were delayed during the strike?")[0].text
    strike = reader.db.execute("SELECT rowid FROM articles WHERE id = 'port-aalborg-strike-2026-03'").fetchone()[0]
    question = embedder.encode(["ships delayed strike dockworkers"])
    rowids = np.arange(1, reader.manifest.articles + 1)
    scores = reader.article_vectors_of(rowids) @ question[0]
    exact = rowids[np.argsort(-scores)[:10]]
    ivf = faiss.extract_index_ivf(reader.article_vectors)
    assert ivf.nprobe == nprobe_for(ivf.nlist, articles=True) < ivf.nlist and len(reader.dense_articles(question, 10)[0]) == 10
    ivf.nprobe = ivf.nlist  # every list probed: exactly the exact search's articles, by their own ids
    found, found_scores = reader.dense_articles(question, 10)
    assert found[0] == exact[0] == strike and np.allclose(found_scores, np.sort(scores)[::-1][:10], atol=1e-3)  # fp16 storage
    write(directory, embedder, removals=["port-aalborg-strike-2026-03"], ann_threshold=3000)
    reader = IndexReader.open(directory)
    hits = ask(reader, embedder, "ships delayed strike dockworkers", k=50)
    assert reader.manifest.faiss.startswith("IVF") and all(h.article_id != "port-aalborg-strike-2026-03" for h in hits)
    assert reader.article_vectors.ntotal == reader.manifest.articles == len(articles) - 1
    faiss.extract_index_ivf(reader.article_vectors).nprobe = faiss.extract_index_ivf(reader.article_vectors).nlist
    assert strike not in reader.dense_articles(question, 50)[0].tolist()


class RecordingEmbedder(HashEmbedder):
    """Remembers every batch of texts it was asked to embed."""

    def __init__(self, dimension: int) -> None:
        super().__init__(dimension)
        self.calls: list[list[str]] = []

    def encode(self, texts, progress=None):  # type: ignore[no-untyped-def]
        self.calls.append(list(texts))
        return super().encode(texts, progress)


def test_a_large_build_embeds_a_chunk_at_a_time_and_each_text_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh build past the approximate-search threshold embeds a training sample first, then the rest a
    chunk of whole articles at a time (never every vector at once); a sentence that recurs across chunks
    and the sample's sentences are embedded once; the index answers as one built in a single chunk."""
    from citebot.index.store.local import ann

    articles = load([SAMPLES])[0] + [
        make_article(f"Filler report {i} covers topic {i % 17} with several more words.\n\n"
                     f"Officials said the figures would be revised.\n\nItem {i} closes the report on page {i % 9}.", None)
        for i in range(1200)]
    monkeypatch.setattr(ann, "TRAIN_PER_LIST", 2)  # a sample smaller than the collection, as at a million sentences
    whole = RecordingEmbedder(64)
    write(tmp_path / "whole", whole, articles, fresh=True, ann_threshold=3000)
    monkeypatch.setattr(ann, "CHUNK", 400)
    chunked = RecordingEmbedder(64)
    report = write(tmp_path / "chunked", chunked, articles, fresh=True, ann_threshold=3000)
    embedded = [t for call in chunked.calls for t in call]
    assert len(embedded) == len(set(embedded)) == report.sentences_embedded  # each text once
    assert "Officials said the figures would be revised." in embedded  # in every filler article: once
    assert len(chunked.calls) > 6 and max(len(c) for c in chunked.calls[1:]) < 400 + 100  # a chunk of whole articles
    assert 0 < len(chunked.calls[0]) <= len(ann.training_rows(report.sentences_total))  # the sample's distinct texts
    assert len(whole.calls) == 2 and sorted(embedded) == sorted(t for call in whole.calls for t in call)
    one, many = IndexReader.open(tmp_path / "whole"), IndexReader.open(tmp_path / "chunked")
    assert many.manifest.faiss.startswith("IVF") and many.vectors.ntotal == many.manifest.sentences == one.manifest.sentences
    assert many.article_vectors.ntotal == len(articles)  # an article's vector: the mean of its sentences', chunk or not
    assert np.allclose(many.article_vectors.index.reconstruct_n(0, len(articles)),
                       one.article_vectors.index.reconstruct_n(0, len(articles)), atol=1e-6)
    for question in ("How many ships were delayed during the strike?", "What does filler report 77 cover?"):
        assert [h.text for h in ask(many, chunked, question, k=10)] == [h.text for h in ask(one, whole, question, k=10)]


def test_lazy_embedder_loads_nothing_when_nothing_is_embedded(sample_index: Path) -> None:
    from citebot.index.embed.choose import embedder_for_writes
    from citebot.index.embed.embedders import LazyEmbedder

    lazy = embedder_for_writes("fake:hash-256", sample_index, 256)
    assert isinstance(lazy, LazyEmbedder)
    write(sample_index, lazy, load([SAMPLES])[0])  # all unchanged
    assert lazy._loaded is None and lazy.encoded == 0
    write(sample_index, lazy, [make_article("A new story about the harbour ferry timetable.", None)])
    assert lazy._loaded is not None and lazy.encoded == 1
    with pytest.raises(ModelError, match="rebuild"):
        LazyEmbedder("fake:hash-64", 256).encode(["x"])


def test_keyword_index_follows_adds_removes_and_title_changes(sample_index: Path, embedder: HashEmbedder) -> None:
    """Each generation's tantivy indexes change with it; an older generation still open is untouched."""
    from citebot.index.ingest.words import terms

    old = IndexReader.open(sample_index)
    story = make_article("The zeppelin hangar in Pärnu will reopen as a concert hall.", "zeppelin.txt", title="Hangar news")
    write(sample_index, embedder, [story])
    new = IndexReader.open(sample_index)
    [found] = new.keywords.top_sentences(terms("zeppelin hangars"), 5)
    assert new.rows([found])[found]["article_id"] == story.id
    assert new.keywords.top_articles(terms("Parnu"), 5)  # accents folded, as in the text
    assert old.keywords.top_sentences(terms("zeppelin"), 5) == {}  # the live generation before the add is unchanged
    assert Answerer(old, embedder).ask("zeppelin hangar").answers[0].citations[0].article_id != story.id

    renamed = replace(story, title="Airship shed to become venue")
    write(sample_index, embedder, [renamed])
    reader = IndexReader.open(sample_index)
    with reader.lock:
        rowid = reader.db.execute("SELECT rowid FROM articles WHERE id = ?", (story.id,)).fetchone()[0]
    assert list(reader.keywords.top_articles(terms("airship"), 5)) == [rowid]  # the new title is searched
    assert rowid not in reader.keywords.top_articles(terms("news"), 50)  # the old one is not
    assert reader.keywords.article_count == reader.manifest.articles == 8

    write(sample_index, embedder, removals=[story.id])
    gone = IndexReader.open(sample_index)
    assert gone.keywords.top_sentences(terms("zeppelin"), 5) == {} and gone.keywords.top_articles(terms("airship"), 5) == {}
    assert (gone.keywords.sentence_count, len(gone.sentence_ids())) == (gone.manifest.sentences, gone.manifest.sentences)


def test_sentence_table_neighbours_and_articles_survive_removals(sample_index: Path, embedder: HashEmbedder) -> None:
    articles, _ = load([SAMPLES])
    write(sample_index, embedder, removals=[articles[0].id])
    reader = IndexReader.open(sample_index)
    all_ids = reader.sentence_ids()
    assert np.all(np.diff(all_ids) > 0) and len(all_ids) == reader.manifest.sentences
    with reader.lock:
        rows = reader.rows(int(i) for i in all_ids)
    articles_of = reader.articles_of(all_ids)
    before_ids, after_ids = reader.neighbours(all_ids)
    for n, sid in enumerate(all_ids):
        row = rows[int(sid)]
        assert int(articles_of[n]) == int(row["article_rowid"])
        for neighbour, step in ((before_ids[n], -1), (after_ids[n], 1)):  # the same article, the next position, or -1
            if neighbour >= 0:
                assert (rows[int(neighbour)]["article_id"], rows[int(neighbour)]["idx"]) == (row["article_id"], row["idx"] + step)
    ids = [int(i) for i in all_ids[:40]]
    for sid, (before, after) in zip(ids, reader.contexts(ids), strict=True):
        row = rows[sid]
        with reader.lock:
            same = dict(reader.db.execute("SELECT idx, text FROM sentences WHERE article_id = ?", (row["article_id"],)).fetchall())
        assert (before, after) == (same.get(row["idx"] - 1), same.get(row["idx"] + 1))
    some_article = int(articles_of[0])
    assert set(reader.sentences_of(np.asarray([some_article])).tolist()) == {
        int(i) for i, a in zip(all_ids, articles_of, strict=True) if a == some_article}


def test_an_add_that_changes_nothing_still_cleans_leftovers_of_killed_writers(sample_index: Path, embedder: HashEmbedder) -> None:
    junk = sample_index / ".tmp-gen-000042-99999"
    (junk / "keyword" / "sentences").mkdir(parents=True)
    (junk / "keyword" / "sentences" / "meta.json").write_text("{}", encoding="utf-8")
    before = current_generation(sample_index)
    report = write(sample_index, embedder, load([SAMPLES])[0])  # every article unchanged
    assert report.added == [] and current_generation(sample_index) == before
    assert not list(sample_index.glob(".tmp-gen-*"))


def _bm25(term: str, doc: list[str], docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> float:
    """Okapi BM25 of one term, by the book (Lucene's idf), over the exact document lengths."""
    n = sum(term in d for d in docs)
    avgdl = sum(len(d) for d in docs) / len(docs)
    tf = doc.count(term)
    return math.log(1 + (len(docs) - n + 0.5) / (n + 0.5)) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / avgdl))


def test_keyword_scores_are_bm25_over_exact_lengths_in_both_stores(stores: Stores, embedder: HashEmbedder) -> None:
    """tantivy keeps a field's length in one byte (rounded down over 40 tokens); both stores score by the exact
    length, as Milvus does, so the same question ranks the same keywords the same way in each."""
    from citebot.index.ingest.words import analyzer

    long = ("The harbour authority said on Monday that the harbour crane, which broke down twice last winter and again "
            "in the spring after a long series of repairs by three different contractors from the region, would be "
            "replaced by a new electric crane ordered from a Finnish maker for delivery in the autumn of next year.")
    articles = [make_article(f"The harbour crane broke down. {long}", None, id="a", title="Harbour crane report"),
                make_article("The harbour ferry runs daily. Ferries run on Sundays too.", None, id="b", title="Ferries"),
                make_article("Rain is expected tomorrow in the north.", None, id="c", title="Weather")]
    store = stores.open()
    store.write(embedder, articles, fresh=True)
    reader = store.reader()
    tokens = analyzer().analyze
    assert len(tokens(long)) > 50
    texts = reader.texts(int(i) for i in reader.sentence_ids())
    sentences = {i: tokens(t) for i, t in texts.items()}
    got = reader.keyword_sentences(["harbour", "crane"], 10)
    want = {i: sum(_bm25(t, d, list(sentences.values())) for t in ("harbour", "crane")) for i, d in sentences.items()
            if {"harbour", "crane"} & set(d)}
    assert got.keys() == want.keys() and all(got[i] == pytest.approx(want[i], rel=1e-4) for i in want)
    bodies, titles = [tokens(a.body) for a in articles], [tokens(a.title or "") for a in articles]
    got_articles = sorted(reader.keyword_articles(["harbour", "crane"], 10).values(), reverse=True)
    want_articles = sorted((sum(_bm25(t, bodies[n], bodies) + 0.5 * _bm25(t, titles[n], titles) for t in ("harbour", "crane"))
                            for n in range(2)), reverse=True)
    assert got_articles == pytest.approx(want_articles, rel=1e-4)
    reader.close()


def test_score_gap_is_the_best_fused_score_above_ranks_11_to_30(sample_index: Path, embedder: HashEmbedder) -> None:
    reader = IndexReader.open(sample_index, model=embedder.name)
    question = "How many ships were delayed during the strike?"
    found = HybridSearch(reader).search(question, embedder.encode([question])[0], 40)
    scores = np.asarray([h.score for h in found.hits])
    assert scores.size > 30
    assert found.signals["score_gap"] == pytest.approx(scores[0] - scores[10:30].mean())
    assert score_gap(np.asarray([3.0, 1.0, 2.0])) == pytest.approx(1.5)  # fewer than 11: above all the others
    assert score_gap(np.asarray([0.7])) == pytest.approx(0.7) and score_gap(np.asarray([])) == 0.0


def test_keyword_ranking_counts_terms_only_as_far_as_it_reads(tmp_path: Path) -> None:
    """Hits over 40 tokens are scored again from their counted terms; the ranking counts them a batch at a
    time, only as deep as it has to read, and ranks exactly as when every hit's terms are counted first."""
    rng = np.random.default_rng(3)
    filler = ["quay", "ledger", "tariff", "convoy", "berth", "pilot", "tug", "manifest", "customs", "cargo"]
    articles = [make_article(". ".join(" ".join(["harbour"] * int(rng.integers(1, 4)) + list(rng.choice(filler, int(rng.integers(5, 70)))))
                                       for _ in range(3)) + ".", None, id=f"h{i}", title=f"Harbour {i}") for i in range(40)]
    write(tmp_path / "ix", HashEmbedder(64), articles, fresh=True)
    reader = IndexReader.open(tmp_path / "ix")
    asked: list[int] = []

    def counting(ids: list[int]) -> dict[int, Counted]:
        asked.append(len(ids))
        return reader._sentence_terms(ids)

    everything = reader._sentence_terms([int(i) for i in reader.sentence_ids()])
    for k in (3, 10, 25):
        asked.clear()
        lazy = reader.keywords.top_sentences(["harbour"], k, counting)
        assert lazy == reader.keywords.top_sentences(["harbour"], k, lambda ids: everything) and len(lazy) == k
        assert asked[0] == k and all(n <= k // 4 + 1 for n in asked[1:]) and sum(asked) < 2 * k  # never all of the 2k read


def test_coverage_counts_articles_holding_a_word_in_title_or_body_before_and_after_deletions(tmp_path: Path) -> None:
    """Coverage's document counts: from the term dictionary while no article is deleted, from a count of the
    matching articles once one is (the dictionary keeps counting deleted ones); both count an article once,
    whether the word is in its title, its body or both."""
    def article(i: int, title: str, body: str):  # type: ignore[no-untyped-def]
        return make_article(body, None, id=f"a{i}", title=title)

    articles = [article(0, "Harbour strike", "The harbour closed."), article(1, "Harbour news", "Ships waited."),
                article(2, "Port news", "The harbour reopened."), article(3, "Weather", "Rain fell.")]
    write(tmp_path / "ix", HashEmbedder(64), articles, fresh=True)
    reader = IndexReader.open(tmp_path / "ix")
    assert not reader.keywords.articles_deleted
    held = {w: reader.keywords._df(w) for w in ("harbour", "news", "ship", "rain", "absent")}
    assert held == {"harbour": 3, "news": 2, "ship": 1, "rain": 1, "absent": 0}
    reader.close()
    write(tmp_path / "ix", HashEmbedder(64), removals=["a0", "a2"])
    reader = IndexReader.open(tmp_path / "ix")
    assert reader.keywords.articles_deleted
    assert {w: reader.keywords._df(w) for w in ("harbour", "news", "ship")} == {"harbour": 1, "news": 1, "ship": 1}
    assert reader.keywords.article_searcher.doc_freq("body", "harbour") == 2  # what the dictionary alone would say
    reader.close()


def test_runs_of_letters_and_digits_bound_the_terms_tantivy_makes_of_any_character() -> None:
    """A document of at most 40 runs of letters and digits is not analysed for its exact length (keyword.counted):
    sound only if no character joins two runs for Python that tantivy's tokenizer would split."""
    import unicodedata

    from citebot.index.ingest.words import analyzer
    from citebot.index.store.local.keyword import COUNT_RUNS_UP_TO, EXACT_UP_TO, WORD_RUN, counted

    analyse = analyzer().analyze
    joined = [hex(cp) for cp in range(0x20, 0x30000) if unicodedata.category(chr(cp)) != "Cs"
              and len(analyse(f"a{chr(cp)}b")) > len(WORD_RUN.findall(f"a{chr(cp)}b"))]
    assert joined == []
    short, long = " ".join(["harbour"] * EXACT_UP_TO), " ".join(["harbour"] * (EXACT_UP_TO + 1))
    assert counted({1: short}).fields == {} and counted({1: long}).fields[1][0] == EXACT_UP_TO + 1
    sparse = "harbour" + " -" * COUNT_RUNS_UP_TO  # too long to count its runs first: analysed, one term, score kept
    assert counted({1: sparse}).fields[1][0] == 1 and counted({1: sparse}).longest <= EXACT_UP_TO


@pytest.mark.parametrize("exact_up_to", [0, 20_000])  # FAISS's id selector in the IVF lists, or exact over the allowed vectors
def test_filtered_search_on_an_approximate_index_finds_the_filters_nearest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                           exact_up_to: int) -> None:
    from citebot.index.store import local
    from citebot.index.store.base import Filter

    monkeypatch.setattr(local.reader, "EXACT_FILTERED", exact_up_to)
    embedder = HashEmbedder(64)
    articles = [make_article(f"Filler report {i} covers topic {i % 17} with several more words.", None, id=f"f{i}",
                             source=f"Outlet {i % 10}", published=f"2025-01-{1 + i % 28:02d}") for i in range(3300)]
    directory = tmp_path / "ix"
    write(directory, embedder, articles, fresh=True, ann_threshold=3000)
    reader = IndexReader.open(directory)
    assert reader.manifest.faiss.startswith("IVF")
    query = embedder.encode(["report covers topic 5 with words"])
    for where in (Filter(sources=("Outlet 3",)), Filter(since=date(2025, 1, 9), until=date(2025, 1, 9))):
        allowed = reader.allowed_sentences(where)
        assert allowed is not None and 0 < allowed.size < reader.vectors.ntotal
        tenth = np.sort(reader.sentence_vectors(allowed) @ query[0])[::-1][9]  # exact filtered search's 10th best score
        found, scores = reader.dense_sentences(query, 10, where)
        assert set(found.tolist()) <= set(allowed.tolist()) and len(found) == 10
        assert int(np.sum(scores >= tenth - 1e-5)) >= 9  # recall@10 against exact filtered search (ties count as found)


def test_a_large_filter_reads_keyword_hits_in_score_order_and_finds_what_the_term_set_finds(tmp_path: Path,
                                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Past GATE_MAX allowed documents, a filtered keyword search reads the query's hits deeper and deeper
    instead of restricting by a term set: the same hits, in the same order."""
    from citebot.index.store.base import Filter
    from citebot.index.store.local import keyword

    rng = np.random.default_rng(5)
    words = ["harbour", "bridge", "toll", "ferry", "strike", "cable", "council", "budget", "tram", "port"]
    articles = [make_article(" ".join(rng.choice(words, 6)) + f" report {i}.", None, id=f"a{i}", title=f"Report {i}",
                             source=f"Outlet {i % 12}", published=f"2025-03-{1 + i % 28:02d}") for i in range(600)]
    write(tmp_path / "ix", HashEmbedder(64), articles, fresh=True)
    reader = IndexReader.open(tmp_path / "ix")
    for where in (Filter(sources=("Outlet 3",)), Filter(since=date(2025, 3, 2), until=date(2025, 3, 2)),
                  Filter(since=date(2025, 3, 10))):
        for k in (1, 7, 40):
            monkeypatch.setattr(keyword, "GATE_MAX", 10_000)
            gated = (reader.keyword_sentences(["harbour", "toll"], k, where), reader.keyword_articles(["ferry", "report"], k, where))
            monkeypatch.setattr(keyword, "GATE_MAX", 0)
            deep = (reader.keyword_sentences(["harbour", "toll"], k, where), reader.keyword_articles(["ferry", "report"], k, where))
            assert [list(g.items()) for g in gated] == [list(d.items()) for d in deep], (where, k)
            allowed = set(reader.allowed_sentences(where).tolist())
            assert gated[0] and set(gated[0]) <= allowed and len(gated[0]) == min(k, len(gated[0]))
