"""a day not yet settled is kept in part: the moment its figures were counted up to

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('daily_figures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counted_before', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('daily_figures', schema=None) as batch_op:
        batch_op.drop_column('counted_before')
