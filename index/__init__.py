"""citebot's indexing library: files -> articles -> sentences -> embeddings -> index directory.

Nothing in this package imports Slack or reads the environment; callers pass explicit settings.
"""
