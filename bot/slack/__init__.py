"""The Slack bot: ``serve.py`` starts it (Socket Mode or HTTP), ``app.py`` builds the slack-bolt app,
``listeners.py`` registers what it answers, ``blocks.py`` renders answers as Block Kit (pure
functions), ``state.py`` keeps per-user state, ``http_server.py`` serves the Events API. The answer
core (bot/answer.py, bot/service.py) knows nothing of Slack."""
