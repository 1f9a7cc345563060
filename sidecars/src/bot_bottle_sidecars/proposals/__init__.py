"""Proposals and answers: the queue between the supervise sidecar and the operator.

Pure Python (no MCP SDK), so the core imports it on the host and the sidecar in
the bundle; the one definition of the files both read and write.

* :mod:`.model`: :class:`Proposal`, :class:`Answer`;
* :mod:`.store`: :class:`Queue`, one bottle's directory of them.
"""

from __future__ import annotations

from .model import APPROVED, MODIFIED, REJECTED, Answer, Kind, Proposal, Status, now_iso
from .store import CorruptFile, Entry, Queue, Refused, Scan

__all__ = [
    "APPROVED",
    "MODIFIED",
    "REJECTED",
    "Answer",
    "CorruptFile",
    "Entry",
    "Kind",
    "Proposal",
    "Queue",
    "Refused",
    "Scan",
    "Status",
    "now_iso",
]
