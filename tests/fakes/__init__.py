"""In-process fakes of what the search engine depends on (``lean_sidecar.search.protocols``):
Lean's verdicts (``FakeVerifier``) and the prover model (``FakeEndpoint``). Search-logic tests
run on these, with no process, no lean-interact and no HTTP; what only the real transports can
show stays with the stand-ins (tests/standins/)."""

from tests.fakes.endpoint import FakeEndpoint, FakeRequest
from tests.fakes.verifier import FakeVerifier, Received

__all__ = ["FakeEndpoint", "FakeRequest", "FakeVerifier", "Received"]
