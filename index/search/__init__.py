"""Hybrid retrieval and reranking."""
