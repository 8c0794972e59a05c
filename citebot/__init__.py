"""citebot: answers questions about news articles with cited sentences.

The code lives in the repository's top-level folders ``index/`` and ``bot/``; this package links
them (``citebot/index`` -> ``../index``, ``citebot/bot`` -> ``../bot``) so that editors and type
checkers see the import names ``citebot.index`` and ``citebot.bot`` that an install provides.
"""
