"""Every package folder ships: pyproject's explicit package list names each one (a subpackage
missing from it would silently drop out of the wheel)."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")
ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for top, folder in (
        ("lean_sidecar", ROOT / "server" / "lean_sidecar"),
        ("lean_bridge", ROOT / "lean_bridge"),
    ):
        for init in folder.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(folder).parts
            found.add(".".join((top, *rel)))
    assert found == listed
