"""The box's imports, run for real in a Python that refuses the server's libraries.

The box's venv (the SD image, the update bundles) installs piclient's own dependency list; the
``server`` extra is the maintainer's. Run as a script, this installs an import hook that refuses the
top-level modules of every distribution the ``server`` extra names, then:

    python -m tests.box_imports walk ROOTS_JSON   prints what importing ROOTS loaded and what it was refused
    python -m tests.box_imports cli ARG...        runs ``piclient ARG...`` (exit code and output as they are)

ROOTS_JSON is ``{"commands": [["tv", "--config", "x"], ...], "modules": ["piclient.server.cli"]}``. A
command's roots are the function argparse picks for it and ``_parser``, which every command runs.
From the roots the walk follows imports for real, including the lazy ones inside functions (found in
each loaded piclient module's source): every function of a piclient module counts as reachable,
except in ``piclient.cli``, whose functions are followed one by one (it holds every command's entry,
the server's too).
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import json
import sys
import tomllib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement

from piclient.extras import top_level_modules

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
ENTRY = "piclient.cli"


def server_only_modules() -> dict[str, str]:
    """Top-level module -> distribution, for each distribution the ``server`` extra names.

    Their own dependencies stay importable: the metadata installed here is not the box's (Debian's
    cryptography, seen through the system site packages, names no cffi; the box's wheel does), so
    "brought only by the server" cannot be told from it.
    """
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    names = [Requirement(line).name for line in project["optional-dependencies"]["server"]]
    return {module: name for name in names for module in top_level_modules(metadata.distribution(name))}


class RefuseServerLibraries(importlib.abc.MetaPathFinder):
    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = refused

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        top = fullname.partition(".")[0]
        if top in self.refused:
            raise ModuleNotFoundError(f"No module named {fullname!r} (the box has no {self.refused[top]})",
                                      name=fullname)


def install_hook() -> dict[str, str]:
    refused = server_only_modules()
    already = sorted(m for m in sys.modules if m.partition(".")[0] in refused)
    if already:
        raise SystemExit(f"loaded before the hook could refuse them: {already}")
    sys.meta_path.insert(0, RefuseServerLibraries(refused))
    return refused


class _Imports(ast.NodeVisitor):
    """The import statements and the names called in a piece of source, skipping `if TYPE_CHECKING:`."""

    def __init__(self) -> None:
        self.imports: list[ast.Import | ast.ImportFrom] = []
        self.called: set[str] = set()

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.imports.append(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.imports.append(node)

    def visit_Call(self, node: ast.Call) -> None:
        # Called, not merely named: `_parser` names every command's function in set_defaults().
        if isinstance(node.func, ast.Name):
            self.called.add(node.func.id)
        self.generic_visit(node)


class Walk:
    def __init__(self) -> None:
        self.failures: list[dict[str, str]] = []
        self.seen: set[str] = set()
        self.entry_done: set[str] = set()
        entry = importlib.import_module(ENTRY)
        tree = ast.parse(Path(entry.__file__ or "").read_text(encoding="utf-8"))
        self.entry_functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    def command(self, argv: list[str]) -> None:
        from piclient.cli import _parser

        self.entry_function("_parser")
        func = _parser().parse_args(argv).func
        if func.__module__ == ENTRY:
            self.entry_function(func.__name__)
        else:
            self.module(func.__module__, f"piclient {' '.join(argv)}")

    def entry_function(self, name: str) -> None:
        if name in self.entry_done or name not in self.entry_functions:  # done, or a constant
            return
        self.entry_done.add(name)
        found = _Imports()
        found.visit(self.entry_functions[name])
        self.follow(found.imports, ENTRY, f"{ENTRY}.{name}")
        for used in sorted(found.called & self.entry_functions.keys()):
            self.entry_function(used)

    def module(self, name: str, importer: str) -> None:
        if name == ENTRY or name in self.seen:
            return
        self.seen.add(name)
        loaded = self.load(name, importer)
        if loaded is None or not (name == "piclient" or name.startswith("piclient.")):
            return
        source = Path(loaded.__file__ or "")
        if source.suffix != ".py":
            return
        found = _Imports()
        found.visit(ast.parse(source.read_text(encoding="utf-8")))
        package = name if source.name == "__init__.py" else name.rpartition(".")[0]
        self.follow(found.imports, package, name)

    def follow(self, imports: list[ast.Import | ast.ImportFrom], package: str, importer: str) -> None:
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.module(alias.name, importer)
                continue
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            if base == ENTRY:
                for alias in node.names:
                    self.entry_function(alias.name)
                continue
            self.module(base, importer)
            parent = sys.modules.get(base)
            for alias in node.names:
                if parent is not None and hasattr(parent, "__path__") and (
                        f"{base}.{alias.name}" in sys.modules or not hasattr(parent, alias.name)):
                    self.module(f"{base}.{alias.name}", importer)  # `from package import submodule`

    def load(self, name: str, importer: str) -> ModuleType | None:
        try:
            return importlib.import_module(name)
        except ImportError as exc:
            self.failures.append({"importer": importer, "module": name, "missing": exc.name or "", "error": str(exc)})
            return None


def main(argv: list[str]) -> int:
    refused = install_hook()
    if argv[0] == "cli":
        from piclient.cli import main as piclient_main

        return piclient_main(argv[1:])
    roots = json.loads(argv[1])
    walk = Walk()
    for command in roots.get("commands", []):
        walk.command(command)
    for name in roots.get("modules", []):
        walk.module(name, "the walk's roots")
    tops = {m.partition(".")[0] for m in sys.modules}
    print(json.dumps({"refused": refused, "failures": walk.failures,
                      "loaded": sorted(m for m in sys.modules if m.partition(".")[0] == "piclient"),
                      "libraries": sorted(tops - set(sys.stdlib_module_names) - {"piclient", "tests"})}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
