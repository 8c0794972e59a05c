"""The citebot command line, in-process and as a real subprocess, with the fake model."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from citebot.bot.cli import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, run
from tests.conftest import FAKE_MODEL, ROOT, SAMPLES

CITATION_KEYS = {"article_id", "title", "source", "url", "published", "path",
                 "sentence_index", "char_start", "char_end"}


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(list(args), out=out)
    return code, out.getvalue()


def build_samples() -> None:
    assert cli("index", "build", str(SAMPLES))[0] == EXIT_OK


def check_result(obj: dict, question: str) -> None:  # type: ignore[type-arg]
    assert set(obj) >= {"question", "abstained", "confidence", "answers"}
    assert obj["question"] == question and isinstance(obj["abstained"], bool)
    assert 0.0 <= obj["confidence"] <= 1.0
    for answer in obj["answers"]:
        assert isinstance(answer["text"], str) and isinstance(answer["score"], float)
        assert answer["citations"][0]["text"] == answer["text"]
        assert set(answer["context"]) == {"before", "after"}
        for c in answer["citations"]:
            assert set(c) >= CITATION_KEYS
            body = Path(c["path"]).read_text(encoding="utf-8") if c["path"].endswith(".txt") else None
            if body is not None:  # each citation's offsets reproduce its own sentence from the file
                assert body.replace("\r\n", "\n").lstrip("\ufeff")[c["char_start"]:c["char_end"]] == c["text"]


def test_ask_before_any_index_says_how_to_build(fake_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = cli("ask", "Who co-chaired the session?")
    assert code == EXIT_ERROR
    assert "citebot index build" in capsys.readouterr().err


def test_build_status_and_json_answer(fake_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli("index", "build", str(SAMPLES))
    assert code == EXIT_OK and "7 articles" in out
    code, out = cli("index", "status", "--json")
    status = json.loads(out)
    assert code == EXIT_OK and status["articles"] == 7 and status["model"] == FAKE_MODEL
    assert status["newest_article"] == "2026-03-13" and status["built_at"]
    question = "Who co-chaired the session of the committee?"
    code, out = cli("ask", "--json", "--top-k", "4", question)
    obj = json.loads(out)
    assert code == EXIT_OK and len(obj["answers"]) == 4
    check_result(obj, question)
    assert any("co-chaired" in a["text"] for a in obj["answers"])


def test_text_answer_shows_quotes_and_citations(fake_env: Path) -> None:
    build_samples()
    code, out = cli("ask", "How many ships were delayed during the strike?")
    assert code == EXIT_OK
    assert "\u201cAbout 120 ships were delayed" in out
    flat = " ".join(out.split())
    assert "Dockworkers at the Port of Aalborg end three-day strike \u2014 Nordic Freight Review, 2026-03-10" in flat


def test_batch_json_in_order_with_bad_lines(fake_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_samples()
    questions = ["Who brokered the agreement?", "", "x" * 5000, "How much will the cycle lanes cost?"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(questions) + "\n"))
    code, out = cli("ask", "--json", "--batch", "-")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == EXIT_PARTIAL
    assert [o["question"][:20] for o in lines] == [questions[0][:20], "x" * 20, questions[3][:20]]
    assert "too long" in lines[1]["error"]
    assert "Lund" in lines[0]["answers"][0]["text"]
    assert "3.8 million" in lines[2]["answers"][0]["text"]
    file = tmp_path / "q.txt"
    file.write_text("Who brokered the agreement?\n", encoding="utf-8")
    code, out = cli("ask", "--json", "--batch", str(file))
    assert code == EXIT_OK and len(out.splitlines()) == 1


@pytest.mark.parametrize("question", ["", "   \t ", "why " * 600])
def test_bad_questions_are_refused_before_loading(fake_env: Path, question: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = cli("ask", question)
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and ("empty" in err or "too long" in err)
    assert "Traceback" not in err


def test_add_reports_added_and_unchanged(fake_env: Path, tmp_path: Path) -> None:
    build_samples()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "news.txt").write_text("The tram depot in Tartu will close for repairs in June.", encoding="utf-8")
    code, out = cli("index", "add", str(extra), str(SAMPLES))
    assert code == EXIT_OK
    assert out.count("added: ") == 1 and out.count("unchanged, skipped: ") == 7
    assert "1 sentence embedded" in out and out.startswith("added: ") and "\nupdated index " in out
    code, out = cli("index", "add", str(extra))
    assert "0 sentences embedded" in out and "unchanged, skipped: " in out
    assert "nothing changed in index" in out and "updated index" not in out  # no generation was written


def test_skipped_files_set_exit_status(fake_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("The library will open on Sundays from April.", encoding="utf-8")
    (src / "bad.json").write_text("{broken", encoding="utf-8")
    code, _ = cli("index", "build", str(src))
    assert code == EXIT_PARTIAL
    assert "bad.json: malformed JSON" in capsys.readouterr().err
    assert json.loads(cli("index", "status", "--json")[1])["articles"] == 1


def test_build_with_nothing_readable_keeps_old_index(fake_env: Path, tmp_path: Path) -> None:
    build_samples()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "bad.json").write_text("{broken", encoding="utf-8")
    assert cli("index", "build", str(empty))[0] == EXIT_ERROR
    assert json.loads(cli("index", "status", "--json")[1])["articles"] == 7


def subprocess_cli(args: list[str], env_dir: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CITEBOT_MODEL=FAKE_MODEL, CITEBOT_INDEX_DIR=str(env_dir / "index"),
               PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "citebot.bot.cli", *args], cwd=env_dir, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_subprocess_exit_codes_and_no_tracebacks(tmp_path: Path) -> None:
    missing = subprocess_cli(["ask", "Who co-chaired?"], tmp_path)
    assert missing.returncode == EXIT_ERROR and "citebot index build" in missing.stderr
    assert subprocess_cli(["index", "build", str(SAMPLES)], tmp_path).returncode == EXIT_OK
    usage = subprocess_cli(["ask", "--top-k", "0", "q"], tmp_path)
    assert usage.returncode == EXIT_USAGE
    both = subprocess_cli(["ask", "--json"], tmp_path)
    assert both.returncode == EXIT_USAGE and "give a question" in json.loads(both.stdout)["error"]  # --json: errors too
    long = subprocess_cli(["ask", "--json", "why " * 2000], tmp_path)
    assert long.returncode == EXIT_ERROR and json.loads(long.stdout)["error"] and json.loads(long.stdout)["question"]
    batch = subprocess_cli(["ask", "--json", "--batch", "-"], tmp_path, stdin="Who mediated the strike?\n")
    assert batch.returncode == EXIT_OK and json.loads(batch.stdout)["answers"]
    for proc in (missing, usage, both, long, batch):
        assert "Traceback" not in proc.stderr


def test_dotenv_is_read_without_overriding_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CITEBOT_INDEX_DIR", raising=False)
    monkeypatch.setenv("CITEBOT_MODEL", FAKE_MODEL)
    (tmp_path / ".env").write_text(f"CITEBOT_INDEX_DIR={tmp_path / 'from-dotenv'}\nCITEBOT_MODEL=other-model\n")
    assert cli("index", "build", str(SAMPLES))[0] == EXIT_OK
    assert (tmp_path / "from-dotenv" / "CURRENT").is_file()
    assert json.loads(cli("index", "status", "--json")[1])["model"] == FAKE_MODEL


@pytest.mark.parametrize("width", [60, 200])
def test_text_answers_fit_the_terminal_width(fake_env: Path, monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    build_samples()
    monkeypatch.setenv("COLUMNS", str(width))
    code, out = cli("ask", "--top-k", "5", "How much will the subsea cable cost and who co-chaired the session in Tallinn?")
    assert code == EXIT_OK and "\u201c" in out
    assert all(len(line) <= width or len(line.split()) == 1 for line in out.splitlines())  # a link or path stays whole
    if width == 200:  # a wide terminal is used, not the old fixed ~88 columns
        assert max(len(line) for line in out.splitlines()) > 100


def test_ask_leaves_with_its_exit_status_and_every_line_written(tmp_path: Path) -> None:
    """`citebot ask` ends its process without tearing the interpreter down: every line it printed into a
    pipe arrives, and the exit status is the command's (0, 1 for a refused question, 3 for a batch with one)."""
    import os
    import subprocess
    import sys

    from tests.conftest import FAKE_MODEL, SAMPLES

    env = dict(os.environ, CITEBOT_MODEL=FAKE_MODEL, CITEBOT_INDEX_DIR=str(tmp_path / "ix"), CITEBOT_RERANKER="none",
               PYTHONPATH=str(Path(__file__).parent.parent))
    subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", str(SAMPLES)], env=env, capture_output=True, check=True)
    questions = [f"How much will the subsea cable cost? ({n})" for n in range(40)] + ["?" * 5000]
    (tmp_path / "questions.txt").write_text("\n".join(questions) + "\n", encoding="utf-8")
    code = "import sys; sys.argv = ['citebot'] + sys.argv[1:]; from citebot.bot.cli import main; main()"
    batch = subprocess.run([sys.executable, "-c", code, "ask", "--json", "--batch", str(tmp_path / "questions.txt")],
                           env=env, capture_output=True, text=True, timeout=120)
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert batch.returncode == EXIT_PARTIAL, batch.stderr[-1000:]
    assert [line["question"] for line in lines] == questions and "error" in lines[-1] and "answers" in lines[0]
    one = subprocess.run([sys.executable, "-c", code, "ask", "How much will the subsea cable cost?"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert one.returncode == EXIT_OK and "EUR 1.1 billion" in " ".join(one.stdout.split())
    refused = subprocess.run([sys.executable, "-c", code, "ask", "--json", " "], env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == EXIT_ERROR and "error" in json.loads(refused.stdout)


def test_text_answers_in_a_pseudo_terminal_follow_its_width(tmp_path: Path) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import FAKE_MODEL, SAMPLES

    env = dict(os.environ, CITEBOT_MODEL=FAKE_MODEL, CITEBOT_INDEX_DIR=str(tmp_path / "ix"), CITEBOT_RERANKER="none",
               PYTHONPATH=str(Path(__file__).parent.parent), NO_COLOR="1")
    env.pop("COLUMNS", None)
    subprocess.run([sys.executable, "-m", "citebot.bot.cli", "index", "build", str(SAMPLES)], env=env, capture_output=True, check=True)
    code = ("import fcntl, struct, sys, termios; "
            "fcntl.ioctl(sys.stdout.fileno(), termios.TIOCSWINSZ, struct.pack('HHHH', 24, 60, 0, 0)); "
            "sys.argv = ['citebot', 'ask', 'How much will the subsea cable cost?']; "
            "from citebot.bot.cli import main; main()")
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-c", code], env=env, stdout=follower, stderr=subprocess.PIPE, timeout=60)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr[-1000:]
    lines = [line for line in text.replace("\r", "").splitlines()]
    assert "EUR 1.1 billion" in " ".join(text.split())
    assert all(len(line) <= 60 or len(line.split()) == 1 for line in lines)  # only an unbreakable word (a link) overflows
    links = [word.strip("<>") for line in lines for word in line.split() if "://" in word]
    whole = {"https://energydesk.example/2026/03/13/tallinn-baltic-wind", "https://climate.example.ee/news/joint-committee-4th-session",
             "https://freight.example/aalborg-strike-ends", "https://courier.example/riverside-cycle-lanes"}
    assert links and set(links) <= whole  # a link is never cut across lines


@pytest.mark.parametrize("target", ["missing-folder", "file.md"])
def test_watch_refuses_what_sync_refuses(fake_env: Path, tmp_path: Path, target: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file.md").write_text("# A title\n\nSome article text about ports.\n", encoding="utf-8")
    for command in ("sync", "watch"):
        code, _ = cli("index", command, str(tmp_path / target))
        assert code == 1, command
        assert str(tmp_path / target) in capsys.readouterr().err
    assert not (tmp_path / "missing-folder").exists()  # watch never creates it


def test_untitled_article_is_named_once(fake_env: Path, tmp_path: Path) -> None:
    from citebot.bot.answer import Citation
    from citebot.bot.render_text import cite

    line = cite(Citation("a1", None, None, None, None, "/news/inbox/note.txt", 0, 0, 5, "Text."))
    assert line == "note.txt"  # the file's name, once; the absolute path is in the JSON answer
    dated = cite(Citation("a1", None, "Press Information Bureau", None, "2025-08-06", "/news/inbox/000.txt", 0, 0, 5, "T."))
    assert dated == "000.txt \u2014 Press Information Bureau, 2025-08-06"
    titled = cite(Citation("a1", "Port strike ends", "Wire", None, "2026-03-10", "/news/a.txt", 0, 0, 5, "Text."))
    assert titled == "Port strike ends \u2014 Wire, 2026-03-10 </news/a.txt>"


def test_writes_say_what_they_do_and_removal_counts_unknown_ids(fake_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli("index", "build", str(SAMPLES))
    err = capsys.readouterr().err
    assert code == EXIT_OK and "reading" in err and "indexing 7 articles" in err
    assert " in " in out and out.rstrip().endswith("s")
    code, out = cli("index", "remove", "no-such-id")
    assert code == EXIT_PARTIAL and "not in the index 1 (no-such-id)" in out
