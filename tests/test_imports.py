"""The package's import structure: every import follows the stage order of the data flow (inside
functions too), no import cycle, the core does not know the mini world, and the command line parses
without the heavy libraries.

The graph is read from the source with :mod:`ast` (nothing is imported): an edge ``a -> b`` for every
module-level ``import vlmsel.b`` / ``from vlmsel.b import x`` of module ``a`` (``from vlmsel.p import x``
means the submodule ``vlmsel.p.x`` when that is a module or package of its own, else ``vlmsel.p``), plus
``a -> p`` for the packages ``p`` above ``b`` whose ``__init__`` Python runs first (those above ``a``
itself are already being imported when ``a`` runs). Module level means outside function bodies, and
outside ``if TYPE_CHECKING:`` blocks, which never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vlmsel"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _absolute(node: ast.ImportFrom, importer: str) -> str:
    """The module an ImportFrom names, with relative imports (``from .x import y``) resolved."""
    if not node.level:
        return node.module or ""
    base = importer if _is_package(importer) else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def _imported(node: ast.Import | ast.ImportFrom, importer: str) -> list[str]:
    """The vlmsel modules an import statement names (``vlmsel.p.x`` for a submodule ``x``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name == "vlmsel" or a.name.startswith("vlmsel.")]
    module = _absolute(node, importer)
    if not (module == "vlmsel" or module.startswith("vlmsel.")):
        return []
    out = []
    for alias in node.names:
        sub = f"{module}.{alias.name}"
        out.append(sub if sub in MODULES else module)
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported: not in functions, not under TYPE_CHECKING."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
            else:
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    children = getattr(node, field, None) or []
                    visit([c for c in children if isinstance(c, ast.stmt)])
                    for c in children:  # except handlers and match cases hold statements in .body
                        if not isinstance(c, ast.stmt) and hasattr(c, "body"):
                            visit(c.body)

    visit(tree.body)
    return found


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}


def import_graph() -> dict[str, set[str]]:
    """Module -> the vlmsel modules it imports at module level (see the module docstring)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in _trees().items():
        own = {name, *_ancestors(name)}  # a package importing its own submodules is not an edge to itself
        for node in _module_level_imports(tree):
            for target in _imported(node, name):
                if target not in MODULES:
                    raise AssertionError(f"{name} imports {target}, which is not a module of the package")
                graph[name].add(target)
                graph[name].update(p for p in _ancestors(target) if p not in own)
    return graph


def strongly_connected_components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _cycle_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle through the component's first module (breadth-first, so a shortest one)."""
    start = component[0]
    members = set(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                return paths[node] + [start]
            if child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    return component


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found = [_cycle_in(c, graph) for c in strongly_connected_components(graph) if len(c) > 1]
    found += [[m, m] for m in sorted(graph) if m in graph[m]]
    return found


def test_the_graph_finds_a_cycle():
    """The detector itself: a made-up graph with a 3-cycle, a self-loop and an acyclic part."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert sorted(map(sorted, (set(c) for c in cycles(graph)))) == [["a", "b", "c"], ["e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    real = import_graph()
    assert "vlmsel.data.benchmarks" in real["vlmsel.data.zoo"]  # a known edge: the reading is not empty
    assert "vlmsel.profiles" in real["vlmsel.method.options"]  # the package of an imported submodule
    assert "vlmsel.method" not in real["vlmsel.method.scoring"]  # its own package is not an edge


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles (module-level imports):\n" + "\n".join(" -> ".join(c) for c in found)


def _all_imports(tree: ast.Module, importer: str) -> list[tuple[int, str]]:
    """Every vlmsel module any import statement of the file names (module level or in functions)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, importer)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                out.append((node.lineno, sub if sub in MODULES else module))
    return out


def _names(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


#: ``vlmsel mini`` (the command line, the layer above every other, mini world included) drives the mini
#: world's own modules; it imports them inside its command functions only, so parsing stays light.
MINI_CLIENTS = {"vlmsel.cli.mini"}


def test_only_the_mini_world_imports_the_mini_world():
    bad = []
    for name, tree in _trees().items():
        if _names(name, "vlmsel.mini"):
            continue
        if name in MINI_CLIENTS:
            lazy = [
                (ln, m) for node in _module_level_imports(tree) for ln, m in _all_imports(ast.Module([node], []), name)
            ]
            bad += [f"{name}:{ln} imports {m} at module level" for ln, m in lazy if _names(m, "vlmsel.mini")]
            continue
        bad += [f"{name}:{ln} imports {m}" for ln, m in _all_imports(tree, name) if _names(m, "vlmsel.mini")]
    assert not bad, "the core must not know the mini world (it registers through vlmsel.plugins):\n" + "\n".join(bad)


#: The stages in the order the data flows: a module may import its own stage and the stages before it,
#: never one after it (the method does not know the evaluation, the core does not know the command line).
STAGES = ("data", "conductance", "profiles", "method", "evaluation", "recommend", "mini", "cli")
#: Below every stage: what each stage may use (files and the cache, progress bars, world registration,
#: shards, untrusted input, the job runner, the figure style). They import only each other.
SHARED = (
    "vlmsel.files",
    "vlmsel.progress",
    "vlmsel.plugins",
    "vlmsel.shards",
    "vlmsel.untrusted",
    "vlmsel.jobs",
    "vlmsel.plotting",
)
#: Above every stage: what the book's chapters share, the Colab settings, ``python -m vlmsel`` and the
#: package itself (whose ``vlmsel.select`` is imported on first use).
TOP = ("vlmsel", "vlmsel.chapters", "vlmsel.colab", "vlmsel.__main__")


def stage_of(module: str) -> int:
    """-1 for a shared module, the index in :data:`STAGES` for a stage's module, len(STAGES) for the top."""
    if module in SHARED:
        return -1
    if module in TOP:
        return len(STAGES)
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in STAGES:
        return STAGES.index(parts[1])
    raise AssertionError(f"{module} belongs to no stage: add it to STAGES, SHARED or TOP in {__file__}")


def stage_violations(trees: dict[str, ast.Module]) -> list[str]:
    """Every import of a later stage, at module level or inside a function alike.

    Only imports of vlmsel's own modules are edges: a lazy import of a heavy or optional library inside a
    function (torch, open_clip, captum, seaborn, submitit) is how a module stays light, and is not
    checked here; a lazy import of a *later vlmsel stage* is hidden coupling, and is refused.
    """
    bad = []
    for name, tree in sorted(trees.items()):
        for line, target in _all_imports(tree, name):
            if not _names(target, "vlmsel") or target == "vlmsel":  # (the package: its __version__, which every
                continue  # module's import has run already)
            if stage_of(target) > stage_of(name):
                bad.append(f"{name}:{line} imports {target}, a later stage")
    return bad


def test_every_import_follows_the_stage_order():
    trees = _trees()
    assert {stage_of(n) for n in trees} == {-1, *range(len(STAGES)), len(STAGES)}  # every stage is seen
    bad = stage_violations(trees)
    assert not bad, "imports against the data flow (" + " < ".join(STAGES) + "):\n" + "\n".join(bad)


def test_the_stage_rule_sees_an_upward_import_inside_a_function():
    """The injected case: the zoo (data, the first stage) calling the command line from inside a function."""
    trees = _trees()
    source = MODULES["vlmsel.data.zoo"].read_text(encoding="utf-8")
    injected = source + "\n\ndef _injected():\n    from vlmsel.cli import main\n    return main\n"
    trees["vlmsel.data.zoo"] = ast.parse(injected)
    assert stage_violations(trees) == [
        f"vlmsel.data.zoo:{injected.count(chr(10)) - 1} imports vlmsel.cli, a later stage"
    ]
    shared = "def f():\n    import vlmsel.profiles.store\n"
    assert stage_violations({"vlmsel.files": ast.parse(shared)}) == [
        "vlmsel.files:2 imports vlmsel.profiles.store, a later stage"
    ]


def test_building_the_parser_imports_no_heavy_library():
    heavy = ("torch", "scipy", "pandas", "open_clip")
    code = (
        f"import sys, vlmsel.cli; vlmsel.cli.build_parser(); print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    loaded = [m for m in out.stdout.strip().split(",") if m]
    assert loaded == [], f"`vlmsel --help` imports {loaded}"


def test_every_name_imported_from_vlmsel_exists():
    """Every ``from vlmsel.x import y`` in the package, the chapters, the tests and the speed scripts names
    something that exists (a renamed or removed name fails here, not in a chapter halfway through CI)."""
    import importlib

    files = [
        *PACKAGE.rglob("*.py"),
        *(ROOT / "notebooks").glob("*.py"),
        *(ROOT / "perf").glob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
    ]
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and not node.level and _names(node.module or "", "vlmsel")):
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name) and f"{node.module}.{alias.name}" not in MODULES:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module} has no {alias.name}")
    assert not bad, "\n".join(bad)
