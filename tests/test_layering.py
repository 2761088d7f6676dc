"""The packages depend one way: flows on everything; alerts, sentiment and crawlers on
storage only; storage on nothing of ours. A test, so a stray import fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"storage", "crawlers", "sentiment", "alerts", "flows"}
ALLOWED = {
    "storage": {"storage"},
    "crawlers": {"crawlers", "storage"},
    "sentiment": {"sentiment", "storage"},
    "alerts": {"alerts", "storage"},
    "flows": PACKAGES,
}


def _imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & PACKAGES
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_imports_only_what_it_may(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}"
        for path in (ROOT / package).rglob("*.py")
        if (bad := _imported_packages(path) - ALLOWED[package])
    }
    assert not wrong, "\n".join(sorted(wrong))
