"""Each module adds one editor-facing feature to the sidecar."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lean_sidecar.app import SidecarServer


def register_all(server: SidecarServer) -> None:
    from lean_sidecar.features import holes_request, proof_search, tactic_hover

    holes_request.register(server)
    proof_search.register(server)
    tactic_hover.register(server)
