"""The pages are spec -> cached call -> render: a view imports the Streamlit glue (``ui``) and
scalecore's public API only, and reaches no private name of either (issue 20)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scalecore

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted((ROOT / "views").glob("*.py")) + [ROOT / "app.py"]
#: scalecore's modules a page may use by name (their functions and constants are API).
PUBLIC_MODULES = {"plots", "formatting", "budget", "report", "store", "comparison"}
#: Other libraries a page may import.
LIBRARIES = {"__future__", "json", "math", "time", "functools", "numpy", "pandas", "streamlit"}


def imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                yield node.lineno, node.module or "", alias.name


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_a_view_imports_ui_and_scalecore_s_public_names_only(path):
    bad = []
    for line, module, name in imports(path):
        top = module.split(".")[0]
        if top == "ui":
            continue
        if module == "scalecore" and name is not None:
            if name not in scalecore.__all__ and name not in PUBLIC_MODULES:
                bad.append(f"{path.name}:{line} from scalecore import {name}")
        elif top == "scalecore":
            bad.append(f"{path.name}:{line} {module}" + (f" import {name}" if name else ""))
        elif top not in LIBRARIES:
            bad.append(f"{path.name}:{line} {module}")
    assert not bad, bad


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: p.name)
def test_a_view_reaches_no_private_name_of_a_module(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and (node.module or "").split(".")[0] in ("ui", "scalecore") for alias in node.names}
    bad = [f"{path.name}:{node.lineno} {node.value.id}.{node.attr}" for node in ast.walk(tree)
           if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
           and node.attr.startswith("_")]
    assert not bad, bad
