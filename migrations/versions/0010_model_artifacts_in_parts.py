"""a run's artifact is stored in parts, so that no statement outgrows MariaDB's max_allowed_packet

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 04:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Every artifact stored so far is its own part 0.
    op.add_column('model_artifacts', sa.Column('part', sa.Integer(), server_default='0', nullable=False))
    _primary_key(['model_run_id', 'name', 'part'])


def downgrade():
    # A run with an artifact in several parts could not keep it: runs are rebuilt by train-recs.
    op.execute("DELETE FROM model_artifacts WHERE model_run_id IN "
               "(SELECT model_run_id FROM (SELECT model_run_id FROM model_artifacts WHERE part > 0) AS split)")
    _primary_key(['model_run_id', 'name'])
    with op.batch_alter_table('model_artifacts', schema=None) as batch_op:
        batch_op.drop_column('part')


def _primary_key(columns):
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite cannot alter a key: the table is copied with the new one.
        with op.batch_alter_table('model_artifacts', schema=None, recreate='always') as batch_op:
            batch_op.create_primary_key('pk_model_artifacts', columns)
    else:
        # One statement: the foreign key on model_run_id keeps an index throughout.
        op.execute(f"ALTER TABLE model_artifacts DROP PRIMARY KEY, ADD PRIMARY KEY ({', '.join(columns)})")
