"""The layout keeps the data flowing one way: the stages import only earlier stages, nothing forms an
import cycle (imports inside functions included), each store depends only on the store seam, the
core imports no Slack, the front ends use the store interface (not a store's internals), and the
installed import names are the project's own (citebot.index, citebot.bot)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = {"citebot.index": ROOT / "index", "citebot.bot": ROOT / "bot"}
STORE_INTERNALS = ("citebot.index.store.local", "citebot.index.store.milvus")
SEAM = ("citebot.index.store.base", "citebot.index.store.changes", "citebot.index.store.manifest",
        "citebot.index.store.table", "citebot.index.store.bm25")
# The pipeline's stages in the order data flows through them; a module imports from its own stage or earlier ones.
STAGES = [
    ("citebot.index.records", "citebot.index.errors", "citebot.index.wording"),
    ("citebot.index.ingest",),
    ("citebot.index.embed",),
    ("citebot.index.store",),
    ("citebot.index.search",),
    ("citebot.index.lifecycle",),
    ("citebot.bot.answer", "citebot.bot.confidence", "citebot.bot.config", "citebot.bot.service", "citebot.bot.language",
     "citebot.bot.dates", "citebot.bot.logs", "citebot.bot.questions", "citebot.bot.render_text", "citebot.bot.scope",
     "citebot.bot.timeline"),
    ("citebot.bot.slack",),
    ("citebot.bot.terminal", "citebot.bot.index_commands", "citebot.bot.ask_command"),
    ("citebot.bot.cli",),
]


def stage(module: str) -> int:
    for n, prefixes in enumerate(STAGES):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return n
    raise AssertionError(f"{module} belongs to no stage: add it to STAGES")


def modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_no_import_cycles_not_even_through_imports_inside_functions() -> None:
    mods = modules()
    graph = {m: {i for i in imports(p, False) if i in mods and i != m and not m.startswith(i + ".")} for m, p in mods.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle.extend([*stack[stack.index(nxt):], nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, nxt]):
                return True
        state[node] = 2
        return False

    assert not any(visit(m, [m]) for m in sorted(graph) if state.get(m) is None), " -> ".join(cycle)


def test_the_core_imports_no_slack_and_no_front_end() -> None:
    for name, path in modules().items():
        if name.startswith("citebot.index"):
            bad = {i for i in imports(path, False) if i.startswith(("slack", "citebot.bot"))}
            assert not bad, (name, bad)


def test_front_ends_use_the_store_interface_not_its_internals() -> None:
    for name, path in modules().items():
        if name.startswith("citebot.bot"):
            bad = {i for i in imports(path, False) if i.startswith(STORE_INTERNALS)}
            assert not bad, (name, bad)


def test_encoders_know_nothing_of_stores_or_generations() -> None:
    for name, path in modules().items():
        if name.startswith("citebot.index.embed"):
            bad = {i for i in imports(path, False) if i.startswith("citebot.index.store")}
            assert not bad, (name, bad)


def test_no_bare_index_or_bot_imports_anywhere() -> None:
    for folder in (ROOT / "index", ROOT / "bot", ROOT / "tests", ROOT / "bench", ROOT / "train"):
        for path in folder.rglob("*.py"):
            bad = {i for i in imports(path, False) if i.split(".")[0] in ("index", "bot")}
            assert not bad, (path, bad)


def test_installed_import_names_are_the_projects_own() -> None:
    import citebot.bot.cli
    import citebot.index.store.base

    assert Path(citebot.bot.cli.__file__).resolve().parent == ROOT / "bot"
    assert Path(citebot.index.store.base.__file__).resolve().parent == ROOT / "index" / "store"


def test_stages_import_only_earlier_stages() -> None:
    mods = modules()
    for name, path in mods.items():
        if name in ("citebot.index", "citebot.bot"):
            continue
        later = {i for i in imports(path, False) if i in mods and i not in ("citebot.index", "citebot.bot") and stage(i) > stage(name)}
        assert not later, (name, later)


def test_each_store_depends_only_on_the_seam() -> None:
    for name, path in modules().items():
        for kind in ("local", "milvus"):
            if name.startswith(f"citebot.index.store.{kind}"):
                used = {i for i in imports(path, False) if i.startswith("citebot.index.store.") and i.count(".") >= 3}
                bad = {i for i in used if not i.startswith((f"citebot.index.store.{kind}", *SEAM))}
                assert not bad, (name, bad)


def test_the_answer_core_imports_no_slack() -> None:
    for name, path in modules().items():
        if name.startswith("citebot.bot") and not name.startswith(("citebot.bot.slack", "citebot.bot.cli")):
            bad = {i for i in imports(path, False) if i.startswith(("slack", "citebot.bot.slack"))}
            assert not bad, (name, bad)
