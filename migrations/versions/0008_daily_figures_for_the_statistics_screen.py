"""each settled day's figures, counted once for the statistics screen

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:49:57

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('daily_figures',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('claim', sa.BigInteger(), nullable=True),
    sa.Column('loans', sa.Integer(), nullable=False),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('new_readers', sa.Integer(), nullable=False),
    sa.Column('stars_1', sa.Integer(), nullable=False),
    sa.Column('stars_2', sa.Integer(), nullable=False),
    sa.Column('stars_3', sa.Integer(), nullable=False),
    sa.Column('stars_4', sa.Integer(), nullable=False),
    sa.Column('stars_5', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_daily_figures'))
    )


def downgrade():
    op.drop_table('daily_figures')
