"""index ratings by date and star, for the statistics screen

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 00:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index('ix_ratings_created_at_rating', ['created_at', 'rating'], unique=False)


def downgrade():
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_created_at_rating')
