"""No import cycle anywhere in lean_sidecar or lean_bridge, counted module by module (grimp's
graph, the one import-linter checks its contracts on), the count printed."""

from __future__ import annotations

import grimp


def import_cycles(packages: tuple[str, ...]) -> list[list[str]]:
    """Strongly connected components of the module import graph with more than one module
    (or a module importing itself): each is at least one cycle."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    modules = sorted(m for m in graph.modules if m.split(".")[0] in packages)
    edges = {
        m: sorted(
            i for i in graph.find_modules_directly_imported_by(m) if i.split(".")[0] in packages
        )
        for m in modules
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm (the graph has ~100 nodes: recursion is fine)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
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
            if len(component) > 1 or v in edges[v]:
                components.append(sorted(component))

    for m in modules:
        if m not in index:
            visit(m)
    return components


def test_cycle_finder_sees_a_cycle(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclepkg import b\n")
    (pkg / "b.py").write_text("from cyclepkg import c\n")
    (pkg / "c.py").write_text("import cyclepkg.a\n")
    (pkg / "d.py").write_text("import cyclepkg.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(("cyclepkg",)) == [["cyclepkg.a", "cyclepkg.b", "cyclepkg.c"]]


def test_no_import_cycle_in_the_product() -> None:
    cycles = import_cycles(("lean_sidecar", "lean_bridge"))
    print(f"import cycles in lean_sidecar + lean_bridge: {len(cycles)}")
    assert cycles == [], cycles
