"""A damaged or missing file in the live generation: every command says which file and what to do,
exits 1 without a traceback, and loses nothing; `index build` is the remedy (fake model)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from citebot.bot.cli import EXIT_ERROR, EXIT_OK, run
from citebot.index.store.local.generations import current_generation
from tests.conftest import SAMPLES

FILES = ["manifest.json", "meta.sqlite", "vectors.faiss", "articles.faiss", "table.npz",
         "keyword/sentences/meta.json", "keyword/articles/meta.json", "keyword/sentences/*.pos", "keyword/articles/*.term"]


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return run(list(args), out=out), out.getvalue()


def damage(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
    else:
        data = path.read_bytes()
        path.write_bytes(data[: max(1, len(data) // 2)])


@pytest.mark.parametrize("how", ["truncate", "delete"])
@pytest.mark.parametrize("name", FILES)
def test_every_command_names_the_damaged_file_and_loses_nothing(fake_env: Path, tmp_path: Path, name: str, how: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(SAMPLES, folder)
    assert cli("index", "build", str(folder))[0] == EXIT_OK
    live = current_generation(fake_env)
    assert live is not None
    before = sorted(p.name for p in fake_env.iterdir())
    damage(next(live.glob(name)), how)  # a tantivy segment file has a generated name
    extra = tmp_path / "extra.txt"
    extra.write_text("Tartu will reopen tram line 4 next spring after a two-year rebuild, the city council said.\n",
                     encoding="utf-8")
    capsys.readouterr()
    for command in (["ask", "Who co-chaired the session?"], ["index", "add", str(extra)], ["index", "sync", str(folder)],
                    ["index", "remove", "port-aalborg-strike-2026-03"], ["index", "status"]):
        code, _ = cli(*command)
        err = capsys.readouterr().err
        assert code == EXIT_ERROR, (command, code, err)
        assert Path(name).parts[0] in err and "citebot index build" in err, (command, err)
        assert current_generation(fake_env) == live  # no write was published over it
    assert sorted(p.name for p in fake_env.iterdir()) == before  # nothing staged was left behind
    assert cli("index", "build", str(folder))[0] == EXIT_OK  # the stated remedy
    code, out = cli("ask", "--json", "Who co-chaired the session?")
    assert code == EXIT_OK and "Tamm" in out


def test_keyword_damage_found_at_search_time_reads_as_at_open(sample_index: Path) -> None:
    from citebot.index.errors import IndexCorrupt
    from citebot.index.ingest.words import content_words
    from citebot.index.store.local.keyword import KeywordIndex

    live = current_generation(sample_index)
    assert live is not None
    next(live.glob("keyword/sentences/*.pos")).unlink()
    keywords = KeywordIndex(live)  # opens: tantivy reads a segment's positions only at the first search
    with pytest.raises(IndexCorrupt, match=r"keyword/sentences is damaged .*rebuild the index with `citebot index build"):
        keywords.top_sentences(content_words("Who co-chaired the session?"), 5)


@pytest.mark.parametrize("content", [b"", b"gen-00", b"\xff\xfe\x00garbage", None])
def test_damaged_current_names_the_newest_intact_generation(fake_env: Path, tmp_path: Path, content: bytes,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("index", "build", str(SAMPLES))[0] == EXIT_OK
    extra = tmp_path / "extra.txt"
    extra.write_text("Tartu will reopen tram line 4 next spring, the city council said.\n", encoding="utf-8")
    assert cli("index", "add", str(extra))[0] == EXIT_OK  # generation 2
    if content is None:
        (fake_env / "CURRENT").unlink()  # missing: the same as damaged, not "no index"
    else:
        (fake_env / "CURRENT").write_bytes(content)
    capsys.readouterr()
    said = "CURRENT is missing" if content is None else "CURRENT is damaged"
    for command in (["ask", "When will the tram line reopen?"], ["index", "add", str(extra)], ["index", "status"],
                    ["index", "remove", "port-aalborg-strike-2026-03"]):
        code, _ = cli(*command)
        err = capsys.readouterr().err
        assert code == EXIT_ERROR and said in err and "gen-000002" in err, (command, err)
    assert sorted(p.name for p in fake_env.glob("gen-*")) == ["gen-000001", "gen-000002"]  # nothing published over it
    (fake_env / "CURRENT").write_text("gen-000002\n", encoding="utf-8")  # the stated remedy
    code, out = cli("ask", "--json", "When will the tram line reopen?")
    assert code == EXIT_OK and "tram line 4" in out
