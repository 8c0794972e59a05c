"""Where sentences, vectors and keywords live, behind one interface.

The seam every store depends on: ``base.py`` (the Store and Reader interfaces), ``changes.py``
(planning a write, its report, the writer lock), ``manifest.py``, ``table.py`` (the in-memory
sentence table and the lookups it answers) and ``bm25.py``. The stores: ``local/`` (FAISS,
tantivy and SQLite generations in a directory) and ``milvus/``; ``open.py`` chooses one.
"""
