"""What the sidecar keeps per document is bounded: results of the current version only, and
nothing at all once the document is closed."""

from __future__ import annotations

from lean_bridge.holes import TextModel
from lean_sidecar.lsp.documents import HoleSnapshot
from lean_sidecar.lsp.feature_set import FeatureSet
from tests.unit.test_features import URI, FakeEngine, proof_search, snapshot_store


async def test_results_of_older_versions_are_dropped_and_close_drops_all() -> None:
    store = await snapshot_store()
    feature, _ = proof_search(store, FakeEngine("simp"))
    features = FeatureSet()
    features.add(feature)
    result = await feature.cmd_search(
        {"uri": URI, "version": 1, "position": {"line": 1, "character": 2}}
    )
    assert result["status"] == "solved"
    assert {k[1] for k in feature.results.found} == {1}
    assert {k[1] for k in feature.results.traces} == {1}

    doc = store.get(URI)
    assert doc is not None and doc.snapshot is not None
    for version in range(2, 50):  # edits below the hole: one snapshot per version
        doc.version = version
        doc.publish(HoleSnapshot(version, TextModel(doc.snapshot.model.text), doc.snapshot.holes))
        features.on_holes(doc)
    kept = {k[1] for t in (feature.results.found, feature.results.traces) for k in t}
    assert kept <= {49}, "only the current version's results are kept"

    other = ("file:///Other.lean", 1, 0)
    feature.results.found[other] = []
    features.on_close(URI)
    tables = (feature.results.found, feature.results.traces, feature.results.partial)
    assert not [k for t in tables for k in t if k[0] == URI]
    assert other in feature.results.found, "other documents keep theirs"
