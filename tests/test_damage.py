"""A damaged or missing file in the live generation: every command says which file and what to do,
exits 1 without a traceback, and loses nothing; `index build` is the remedy (fake model)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from bot.cli import EXIT_ERROR, EXIT_OK, run
from index.store import current_generation
from tests.conftest import SAMPLES

FILES = ["manifest.json", "meta.sqlite", "vectors.faiss", "articles.faiss", "table.npz",
         "keyword/sentences/meta.json", "keyword/articles/meta.json"]


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
    damage(live / name, how)
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
