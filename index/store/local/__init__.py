"""The local store: generations of FAISS vectors, tantivy keyword indexes, a numpy sentence table and
SQLite metadata in one directory (store.py; layout in generations.py)."""
