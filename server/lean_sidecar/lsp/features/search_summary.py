"""What a search command answers (and what its progress bar ends with): the status, the reason
when there is no proof, the proofs found with the helpers they need, a refutation's text."""

from __future__ import annotations

from lean_bridge.json_types import JsonObject
from lean_sidecar.search.trace import HoleResult

REFUTED = "this goal is false: Lean proved its negation"


def summary(result: HoleResult) -> JsonObject:
    error = result.error
    if result.status == "refuted":
        error = REFUTED  # never a bare "refuted"; the action shows the counterexample
    out: JsonObject = {
        "status": result.status,
        "error": error,
        "samples": result.samples,
        "seconds": round(result.seconds, 3),
        "found": [
            {
                "proof": f.script,
                "how": f.how,
                "seconds": round(f.seconds, 3),
                **({"helpers": f.helpers} if f.helpers else {}),
            }
            for f in result.found
        ],
    }
    if result.refuted is not None:
        out["refuted"] = result.refuted.text()
    return out
