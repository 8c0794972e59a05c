"""The Milvus store: one set of collections per generation behind an alias, on milvus-lite (a local
file) or a Milvus server (store.py)."""
