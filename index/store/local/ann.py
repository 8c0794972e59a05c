"""Which FAISS index holds the sentence (and article) vectors: exact below a size threshold, approximate above.

Below ANN_THRESHOLD vectors: ``IDMap2(FlatIP)``, exact. At or above it the writer converts them to
an inverted-file index with fp16 storage (``IVF{nlist},SQfp16``, inner product, a hash-table direct
map so that ids can be removed and vectors reconstructed): half the memory of float32, and a search
that probes ``nprobe`` of ``nlist = 4*sqrt(N)`` lists. Adds and removals then go straight into the
IVF index; a fresh build re-trains it.

How many lists a search probes (bench/probes.py prints recall against exact search and time for
each count): a sentence's nearest neighbours sit in a few lists whatever the size, so a sentence
search probes a fixed SENTENCE_PROBES lists (a number, not a share: the time of a search then grows
with the lists' length, ~sqrt(N), not with N). An article vector is the mean of its sentences',
and means of unrelated sentences crowd together, so an article search probes a share of its lists.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ANN_THRESHOLD = 100_000
SENTENCE_PROBES = 64
ARTICLE_PROBE_SHARE = 0.15
TRAIN_PER_LIST = 40
CHUNK = 50_000


def describe(index: Any) -> str:
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    return f"IVF{ivf.nlist},SQfp16,IP" if ivf is not None else "IDMap2,Flat,IP"


def nprobe_for(nlist: int, articles: bool = False) -> int:
    """Lists a search probes: a fixed number for sentence vectors, a share of them for article vectors."""
    return min(nlist, math.ceil(nlist * ARTICLE_PROBE_SHARE) if articles else SENTENCE_PROBES)


def set_nprobe(index: Any, articles: bool = False) -> None:
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = nprobe_for(ivf.nlist, articles)


def maybe_convert(index: Any, threshold: int = ANN_THRESHOLD, articles: bool = False) -> Any:
    """The same vectors in an IVF index when there are enough of them; else the index as it is."""
    import faiss

    if index.ntotal < threshold or faiss.try_extract_index_ivf(index) is not None:
        return index
    n = index.ntotal
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    sample = training_rows(n)
    ivf = trained_ivf(index.index.reconstruct_batch(sample.astype(np.int64)) if len(sample) >= 2000
                      else np.vstack([index.index.reconstruct(int(i)) for i in sample]).astype(np.float32), n, articles)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        ivf.add_with_ids(index.index.reconstruct_n(start, stop - start), ids[start:stop])
    return ivf


def training_rows(n: int) -> np.ndarray:
    """Which of ``n`` vectors train the lists of an IVF index for ``n`` vectors (a fixed random sample)."""
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(n, min(n, TRAIN_PER_LIST * nlist_for(n)), replace=False))


def nlist_for(n: int) -> int:
    return int(4 * math.sqrt(n))


def trained_ivf(sample: np.ndarray, n: int, articles: bool = False) -> Any:
    """An empty IVF-SQfp16 index for ``n`` vectors, its lists trained on ``sample`` (see training_rows)."""
    import faiss

    d = sample.shape[1]
    ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(d), d, nlist_for(n), faiss.ScalarQuantizer.QT_fp16,
                                        faiss.METRIC_INNER_PRODUCT)
    ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # faiss's own stubs leave DirectMap out
    set_nprobe(ivf, articles)
    return ivf
