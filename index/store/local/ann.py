"""Which FAISS index holds the sentence vectors: exact below a size threshold, approximate above.

Below ANN_THRESHOLD sentences: ``IDMap2(FlatIP)``, exact. At or above it the writer converts the
vectors to an inverted-file index with fp16 storage (``IVF{nlist},SQfp16``, inner product, a
hash-table direct map so that ids can be removed and vectors reconstructed): half the memory of
float32, and a search that probes ``nprobe`` of ``nlist`` lists. With nlist = 4*sqrt(N) and
nprobe = nlist/16 (at least 64) recall@10 against exact search measured >= 0.98 (bench/scale.py).
Adds and removals then go straight into the IVF index; a fresh build re-trains it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ANN_THRESHOLD = 100_000
TRAIN_PER_LIST = 40
CHUNK = 50_000


def describe(index: Any) -> str:
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    return f"IVF{ivf.nlist},SQfp16,IP" if ivf is not None else "IDMap2,Flat,IP"


def nprobe_for(nlist: int) -> int:
    return min(nlist, max(64, nlist // 16))


def set_nprobe(index: Any) -> None:
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = nprobe_for(ivf.nlist)


def maybe_convert(index: Any, threshold: int = ANN_THRESHOLD) -> Any:
    """The same vectors in an IVF index when there are enough of them; else the index as it is."""
    import faiss

    if index.ntotal < threshold or faiss.try_extract_index_ivf(index) is not None:
        return index
    n, d = index.ntotal, index.d
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    nlist = int(4 * math.sqrt(n))
    ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(d), d, nlist, faiss.ScalarQuantizer.QT_fp16,
                                        faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, min(n, TRAIN_PER_LIST * nlist), replace=False))
    ivf.train(np.vstack([index.index.reconstruct(int(i)) for i in sample]).astype(np.float32)
              if len(sample) < 2000 else index.index.reconstruct_batch(sample.astype(np.int64)))
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # faiss's own stubs leave DirectMap out
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        ivf.add_with_ids(index.index.reconstruct_n(start, stop - start), ids[start:stop])
    set_nprobe(ivf)
    return ivf
