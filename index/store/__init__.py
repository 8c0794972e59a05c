"""Where sentences, vectors and keywords live, behind one interface (base.py): the local
generations (FAISS, tantivy, SQLite; local.py) or a Milvus collection per generation (milvus.py)."""
