"""The Protocols the search depends on are met by the real classes and by the tests' fakes:
every member, with the same parameters, async where the Protocol's is (mypy checks the real
classes where they are wired; this keeps the fakes from drifting)."""

from __future__ import annotations

import inspect
from typing import Any, Protocol

import pytest

from lean_bridge.repl_pool import ReplPool, ReplSession
from lean_bridge.verifier import Verifier
from lean_sidecar.prover.endpoint import EndpointClient
from lean_sidecar.search.protocols import LeanCommands, LeanVerifier, ModelEndpoint, TacticSession
from tests.fakes import FakeEndpoint, FakeVerifier
from tests.fakes.verifier import FakeSession


def members(proto: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in reversed(proto.__mro__):
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        out.update({k: v for k, v in vars(cls).items() if not k.startswith("_")})
    return out


CASES = [
    (LeanVerifier, Verifier),
    (LeanVerifier, FakeVerifier),
    (LeanCommands, ReplPool),
    (TacticSession, ReplSession),
    (TacticSession, FakeSession),
    (ModelEndpoint, EndpointClient),
    (ModelEndpoint, FakeEndpoint),
]


@pytest.mark.parametrize(
    ("proto", "impl"), CASES, ids=[f"{p.__name__}-{i.__name__}" for p, i in CASES]
)
def test_the_protocol_is_met(proto: type, impl: type) -> None:
    wanted = members(proto)
    assert wanted
    for name, member in wanted.items():
        if isinstance(member, property):  # an attribute or a property of the implementation
            params = inspect.signature(impl.__init__).parameters  # type: ignore[misc]
            assert hasattr(impl, name) or name in params, (impl, name)
            continue
        got = getattr(impl, name, None)
        assert got is not None, (impl, name)
        assert inspect.iscoroutinefunction(got) == inspect.iscoroutinefunction(member), name
        ours = list(inspect.signature(member).parameters)
        theirs = list(inspect.signature(got).parameters)
        assert theirs == ours, (impl, name, theirs)
