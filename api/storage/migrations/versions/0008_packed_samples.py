"""Packed sample chunks: every chunk of layout 2 becomes layout 3, of layout 1 layout 4 (``api.storage.samples``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

No column changes: each chunk's ``data`` is rewritten from plain rows (52 or 44 bytes a
sample) to the packed columns of :mod:`api.storage.chunk_codec` (about a tenth of that),
bit for bit the same samples. Chunks are read, converted and written back
:data:`BATCH_CHUNKS` at a time in the order of their ids, so memory stays bounded by one
batch whatever the database's size. The calibrated channels are stored as the device's
counts when the trial's calibration profile (``trials.calibration``, a shipped name or a file
that still exists) gives back every value bit for bit; otherwise as they are.

A chunk that cannot be decoded (damaged) is left as it is and named in a warning; reading
it raises the same clear error before and after.

``downgrade`` converts back (layout 3 to 2, 4 to 1): the bytes of every chunk are again
those an older isokin wrote and reads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import sqlalchemy as sa
from alembic import op

from api.storage.chunk_codec import CorruptChunkError, Scale
from api.storage.samples import PACKED_LAYOUT_OF, calibration_scales, decode_chunk_data, encode_chunk_data
from daq.calibration import load_profile
from daq.errors import CalibrationError

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: Chunks read and rewritten at a time (a recorded chunk is a few kB, an imported one up to 520 kB).
BATCH_CHUNKS = 64

_CHUNKS = sa.table(
    "sample_chunks",
    sa.column("id", sa.BigInteger()),
    sa.column("trial_id", sa.Integer()),
    sa.column("chunk_index", sa.Integer()),
    sa.column("layout", sa.Integer()),
    sa.column("sample_count", sa.Integer()),
    sa.column("data", sa.LargeBinary()),
)
_TRIALS = sa.table("trials", sa.column("id", sa.Integer()), sa.column("calibration", sa.String()))


def upgrade() -> None:
    convert(op.get_bind(), PACKED_LAYOUT_OF, with_scales=True)


def downgrade() -> None:
    convert(op.get_bind(), {packed: plain for plain, packed in PACKED_LAYOUT_OF.items()}, with_scales=False)


def convert(connection: sa.Connection, targets: Mapping[int, int], *, with_scales: bool) -> int:
    """Rewrite every chunk whose layout is a key of ``targets`` in the layout it maps to; the number rewritten."""
    scales: dict[int, dict[str, Scale]] = {}
    done, last_id = 0, -1
    update = (
        sa.update(_CHUNKS)
        .where(_CHUNKS.c.id == sa.bindparam("chunk_id"))
        .values(layout=sa.bindparam("new_layout"), data=sa.bindparam("new_data"))
    )
    while True:
        batch = connection.execute(
            sa.select(_CHUNKS.c.id, _CHUNKS.c.trial_id, _CHUNKS.c.chunk_index, _CHUNKS.c.layout, _CHUNKS.c.sample_count, _CHUNKS.c.data)
            .where(_CHUNKS.c.id > last_id, _CHUNKS.c.layout.in_(list(targets)))
            .order_by(_CHUNKS.c.id)
            .limit(BATCH_CHUNKS)
        ).all()
        if not batch:
            return done
        changes = []
        for chunk_id, trial_id, chunk_index, layout, count, data in batch:
            try:
                columns = decode_chunk_data(layout, [(count, bytes(data))])
            except CorruptChunkError as err:
                log.warning("trial %d: sample chunk %d (layout %d) is damaged and stays as it is: %s", trial_id, chunk_index, layout, err)
                continue
            if with_scales and trial_id not in scales:
                scales[trial_id] = _trial_scales(connection, trial_id)
            new = targets[layout]
            changes.append({"chunk_id": chunk_id, "new_layout": new, "new_data": encode_chunk_data(columns, new, scales.get(trial_id))})
        if changes:
            connection.execute(update, changes)
        done += len(changes)
        last_id = batch[-1][0]
        if len(scales) > 1024:
            scales.clear()


def _trial_scales(connection: sa.Connection, trial_id: int) -> dict[str, Scale]:
    """The gains and offsets of the trial's calibration profile, when it can still be loaded."""
    name = connection.execute(sa.select(_TRIALS.c.calibration).where(_TRIALS.c.id == trial_id)).scalar()
    if not name:
        return {}
    try:
        return calibration_scales(load_profile(name))
    except CalibrationError:
        return {}
