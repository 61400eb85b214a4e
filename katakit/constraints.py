"""Forbidden calls, found statically in a learner's source.

Names are resolved through imports, so ``import tensorflow as t; t.tile(...)`` and
``from numpy import tile as spread; spread(...)`` are both ``tensorflow.tile`` /
``numpy.tile``. A rule that names a module (``statsmodels``) forbids everything under it,
importing it included, and also a string naming it in a dynamic import
(``__import__("statsmodels")``, ``importlib.import_module(...)``, ``sys.modules[...]``).
A rule with ``*`` is a glob over dotted names: ``tensorflow.*.tile`` catches
``tf.compat.v1.tile`` and ``tf.raw_ops...``-style spellings alike. A rule ``.name`` forbids
calling a method of that name on any object (``arr.repeat(...)``), which no import can reveal.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Violation:
    name: str
    line: int
    rule: str

    def __str__(self):
        return f"line {self.line}: {self.name} (forbidden: {self.rule})"


def _aliases(tree: ast.AST) -> tuple[dict[str, str], list[tuple[str, int]]]:
    """Local name -> dotted name it stands for, and every imported dotted name with its line."""
    aliases, imported = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.append((alias.name, node.lineno))
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else local
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                imported.append((full, node.lineno))
                aliases[alias.asname or alias.name] = full
    return aliases, imported


DYNAMIC_IMPORTS = {"__import__", "import_module", "find_spec"}


def _matches(name: str, rule: str) -> bool:
    if "*" in rule:
        return fnmatchcase(name, rule)
    return name == rule or name.startswith(rule + ".")


class _Uses(ast.NodeVisitor):
    """Collects (dotted name, line) for every expression that resolves through an import alias."""

    def __init__(self, aliases, method_rules):
        self.aliases, self.method_rules = aliases, method_rules
        self.uses: list[tuple[str, int]] = []
        self.methods: list[tuple[str, int]] = []

    def dotted(self, node) -> str | None:
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def visit_Import(self, node):  # imports were read in the first pass
        pass

    visit_ImportFrom = visit_Import

    def visit_Attribute(self, node):
        name = self.dotted(node)
        if name is None:
            self.generic_visit(node)
        else:
            self.uses.append((name, node.lineno))  # a.b.c: its prefixes a, a.b are not uses of their own

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in self.aliases:
            self.uses.append((self.aliases[node.id], node.lineno))

    def visit_Subscript(self, node):
        # sys.modules["statsmodels.api"]
        if self.dotted(node.value) == "sys.modules" and isinstance(node.slice, ast.Constant):
            self._dynamic(node.slice)
        self.generic_visit(node)

    def _dynamic(self, argument):
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            self.uses.append((argument.value.strip(), argument.lineno))

    def visit_Call(self, node):
        func = node.func
        # __import__("statsmodels"), importlib.import_module("statsmodels.api"), sys.modules.get(...)
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if node.args and (name in DYNAMIC_IMPORTS or (name == "get" and self.dotted(func.value) == "sys.modules")):
            self._dynamic(node.args[0])
        if isinstance(func, ast.Attribute) and func.attr in self.method_rules and self.dotted(func) is None:
            self.methods.append((func.attr, node.lineno))
        # getattr(np, "tile") is the same use spelled differently.
        if (isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            base = self.dotted(node.args[0])
            if base:
                self.uses.append((f"{base}.{node.args[1].value}", node.lineno))
        self.generic_visit(node)


def find_forbidden(source: str, rules, *, lines: tuple[int, int] | None = None) -> list[Violation]:
    """Every use of a forbidden name in `source`, only within `lines` (first, last) when given.

    Imports are read from the whole file either way, so aliases made at the top resolve.
    Raises SyntaxError when `source` does not parse.
    """
    module_rules = [r for r in rules if not r.startswith(".")]
    method_rules = {r[1:] for r in rules if r.startswith(".")}
    if not (module_rules or method_rules):
        return []
    tree = ast.parse(source)
    aliases, imported = _aliases(tree)
    uses = _Uses(aliases, method_rules)
    uses.visit(tree)

    found = {}
    for name, line in imported + uses.uses:
        for rule in module_rules:
            if _matches(name, rule):
                found[(name, line)] = Violation(name, line, rule)
                break
    for method, line in uses.methods:
        found[(f".{method}()", line)] = Violation(f".{method}()", line, f".{method}")
    violations = sorted(found.values(), key=lambda v: (v.line, v.name))
    if lines is not None:
        violations = [v for v in violations if lines[0] <= v.line <= lines[1]]
    return violations


def unfinished_functions(source: str) -> list[str]:
    """Names of the functions whose whole body (docstring aside) is ``raise NotImplementedError``."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if (len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is not None
                    and ast.unparse(body[0].exc) in ("NotImplementedError", "NotImplementedError()")):
                names.append(node.name)
    return names
