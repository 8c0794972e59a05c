"""Starting the bot: configuration errors name the variable, never the value; logs are redacted."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.config import ConfigError, Settings
from citebot.bot.logs import RedactSecrets
from citebot.bot.slack.serve import check_credentials
from tests.conftest import ROOT


def run_serve(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    clean.update(env, PYTHONPATH=str(ROOT), CITEBOT_INDEX_DIR=str(tmp_path / "ix"))
    return subprocess.run([sys.executable, "-m", "citebot.bot.cli", "serve", *args], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_serve_without_tokens_names_missing_variables(tmp_path: Path) -> None:
    proc = run_serve(tmp_path)
    assert proc.returncode != 0
    assert "SLACK_BOT_TOKEN" in proc.stderr and "SLACK_APP_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
    http = run_serve(tmp_path, "--http")
    assert http.returncode != 0 and "SLACK_SIGNING_SECRET" in http.stderr and "SLACK_APP_TOKEN" not in http.stderr


def test_malformed_token_is_named_not_echoed(tmp_path: Path) -> None:
    secret_looking = "not-a-bot-token-s3cr3t-value"
    proc = run_serve(tmp_path, SLACK_BOT_TOKEN=secret_looking, SLACK_APP_TOKEN="xapp-1-ok")
    assert proc.returncode != 0 and "malformed SLACK_BOT_TOKEN" in proc.stderr
    assert secret_looking not in proc.stderr + proc.stdout


def test_settings_repr_hides_secrets() -> None:
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-123-secret", "SLACK_SIGNING_SECRET": "abcdef0123456789abcd",
                           "SLACK_APP_TOKEN": "xapp-1-secret"})
    assert "secret" not in repr(s) and "abcdef0123456789abcd" not in repr(s)
    check_credentials(s, http=False)
    check_credentials(s, http=True)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN") as info:
        check_credentials(Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-123-secret"}), http=False)
    assert "xoxb-123-secret" not in str(info.value)


def test_log_filter_redacts_tokens_and_secrets() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling with %s and %s", ("xoxb-999-abc", "mysecretvalue"), None)
    assert RedactSecrets(["mysecretvalue"]).filter(record)
    assert record.getMessage() == "calling with [redacted] and [redacted]"


def test_bad_numeric_config_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="CITEBOT_TOP_K must be an integer"):
        Settings.from_env({"CITEBOT_TOP_K": "many"})


def test_unreachable_or_refusing_slack_is_a_clear_error(fake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from citebot.bot.service import AnswerService
    from citebot.bot.slack.serve import connect
    from tests.slack_helpers import bot_settings

    settings = bot_settings(fake, tmp_path / "ix", "fake:hash-256")
    fake.errors["auth.test"] = "invalid_auth"
    with pytest.raises(ConfigError, match="invalid_auth") as info:
        connect(settings, AnswerService(settings))
    assert settings.slack_bot_token not in str(info.value)
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in str(info.value) and "`token`" not in str(info.value)
    offline = Settings(slack_bot_token="xoxb-1-abc", slack_api_url="http://127.0.0.1:9/api/", index_dir=tmp_path / "ix")
    with pytest.raises(ConfigError, match="cannot reach the Slack Web API"):
        connect(offline, AnswerService(offline))


def test_app_start_logs_no_token_warning_on_a_correct_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture, fake) -> None:  # type: ignore[no-untyped-def]
    from citebot.bot.service import AnswerService
    from citebot.bot.slack.app import create_app
    from citebot.bot.slack.state import BotState

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    settings = Settings(slack_bot_token="xoxb-1-2-abc", slack_signing_secret="s" * 32, index_dir=tmp_path / "ix",
                        reranker="none", slack_api_url=fake.api_url)
    with caplog.at_level(logging.DEBUG):
        create_app(settings, AnswerService(settings), BotState(settings.index_dir))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [r.getMessage() for r in caplog.records]


def own_lines_only(stderr: str) -> bool:
    """Every line is citebot's: its log format naming a citebot logger, or its one-line error."""
    return all(" citebot" in line.split(":", 3)[-2] if " INFO " in line or " WARNING " in line or " ERROR " in line
               else line.startswith("citebot: ") for line in stderr.splitlines() if line.strip())


def test_refused_app_token_is_named_and_library_lines_stay_out(tmp_path: Path, fake) -> None:  # type: ignore[no-untyped-def]
    fake.errors["apps.connections.open"] = "invalid_auth"
    tokens = {"SLACK_BOT_TOKEN": "xoxb-111-222-fakebottoken", "SLACK_APP_TOKEN": "xapp-1-A1-333-fakeapptoken"}
    proc = run_serve(tmp_path, SLACK_API_URL=fake.api_url, CITEBOT_MODEL="fake:hash-256", **tokens)
    assert proc.returncode == 1 and "Slack refused SLACK_APP_TOKEN (invalid_auth)" in proc.stderr, proc.stderr
    assert own_lines_only(proc.stderr), proc.stderr
    assert not any(token in proc.stderr for token in tokens.values())


def test_unreachable_slack_prints_citebot_lines_only(tmp_path: Path) -> None:
    proc = run_serve(tmp_path, SLACK_API_URL="http://127.0.0.1:9/api/", CITEBOT_MODEL="fake:hash-256",
                     SLACK_BOT_TOKEN="xoxb-111-222-fakebottoken", SLACK_APP_TOKEN="xapp-1-A1-333-fakeapptoken")
    assert proc.returncode == 1 and "cannot reach the Slack Web API" in proc.stderr
    assert own_lines_only(proc.stderr) and "slack_sdk" not in proc.stderr, proc.stderr
    debug = run_serve(tmp_path, SLACK_API_URL="http://127.0.0.1:9/api/", CITEBOT_MODEL="fake:hash-256", CITEBOT_LOG_LEVEL="debug",
                      SLACK_BOT_TOKEN="xoxb-111-222-fakebottoken", SLACK_APP_TOKEN="xapp-1-A1-333-fakeapptoken")
    assert "slack_sdk" in debug.stderr  # the libraries' lines are there when asked for
