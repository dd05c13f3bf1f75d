"""Writes on indicators: definitions, built-in sync, recomputation and incremental updates."""

from __future__ import annotations

import datetime as dt


def notify_changed(*, source: str, node_id: int, day: dt.date) -> None:
    """Records of `source` attributed to node `node_id` and dated `day` changed: update the roll-ups of
    every indicator using the source (that node and its ancestors, the affected periods). Call it from
    `transaction.on_commit(..., robust=True)`; call once per (node, day) that changed — for a record that
    moved, for its old and its new node/day."""
    # filled in by the engine (next commit)
