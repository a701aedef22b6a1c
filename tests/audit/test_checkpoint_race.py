"""One signer at a time (DESIGN §3): beat's task run by several workers at
once signs one checkpoint and never writes a node twice (PostgreSQL,
real commits)."""

from __future__ import annotations

import pytest

from audit.checkpoints import sign_checkpoint
from audit.models import AuditCheckpoint, AuditTreeNode
from tests.audit.checkpoint_helpers import append
from tests.concurrency import race

pytestmark = pytest.mark.postgres


def test_concurrent_signers_make_one_checkpoint(tx_db: None) -> None:
    append(9)
    results = race(4, lambda _i: sign_checkpoint())
    assert not [r for r in results if isinstance(r, Exception)], results
    assert [r.tree_size for r in results if r is not None] == [9]
    assert AuditCheckpoint.objects.count() == 1
    # 9 leaves, 4 + 2 + 1 complete subtrees above them
    assert AuditTreeNode.objects.count() == 9 + 4 + 2 + 1
