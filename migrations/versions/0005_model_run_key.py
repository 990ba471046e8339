"""model runs get a random key that is never reused (rating weights are cached under it)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:20:00

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('model_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=32), nullable=True))
    runs = sa.table('model_runs', sa.column('id', sa.Integer), sa.column('key', sa.String))
    connection = op.get_bind()
    for (run_id,) in connection.execute(sa.select(runs.c.id)).all():
        connection.execute(runs.update().where(runs.c.id == run_id).values(key=uuid.uuid4().hex))
    with op.batch_alter_table('model_runs', schema=None) as batch_op:
        batch_op.alter_column('key', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_model_runs_key'), ['key'])


def downgrade():
    with op.batch_alter_table('model_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_model_runs_key'), type_='unique')
        batch_op.drop_column('key')
