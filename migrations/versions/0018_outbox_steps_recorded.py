"""outbox-only plan steps are recorded, not delivered or answered; their plans lose the first contact

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 03:10:00.000000

Before the `recorded` step state existed, a text or call that an outbox channel only wrote down marked
its plan step `delivered` (SMS) or `answered` (voice), which gave the plan a first contact and made the
outcome figures count the person as reached. Such a step says so in its detail (`"state": "recorded"`,
the message's state, written by warnings' risk link). Data only: no column changes.

- those steps become `recorded`;
- a plan with no contact step left (`delivered`, `answered`, `done`) loses its `first_contact_at`;
- the outcome row of such a plan is not reached.

The downgrade leaves the data as it is: the old marks were wrong, and 0012's schema reads `recorded`
steps as any other string.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORDED_DETAIL = '%"state": "recorded"%'


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE warning_step SET state = 'recorded'"
            " WHERE state IN ('delivered', 'answered') AND detail LIKE :recorded"
        ),
        {"recorded": RECORDED_DETAIL},
    )
    conn.execute(
        sa.text(
            "UPDATE warning_plan SET first_contact_at = NULL WHERE first_contact_at IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM warning_step s WHERE s.plan_id = warning_plan.id"
            " AND s.state IN ('delivered', 'answered', 'done'))"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE warning_outcome SET reached = :no WHERE reached = :yes AND plan_id IN"
            " (SELECT id FROM warning_plan WHERE first_contact_at IS NULL)"
        ),
        {"no": False, "yes": True},
    )


def downgrade() -> None:
    pass
