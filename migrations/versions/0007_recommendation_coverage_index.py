"""index recommendations by run and book, for the statistics screen's coverage

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.create_index('ix_recommendations_model_run_id_book_id', ['model_run_id', 'book_id'], unique=False)


def downgrade():
    with op.batch_alter_table('recommendations', schema=None) as batch_op:
        batch_op.drop_index('ix_recommendations_model_run_id_book_id')
