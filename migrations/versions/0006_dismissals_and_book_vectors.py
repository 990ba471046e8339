"""dismissals and content vectors of books added after training

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:46:55.029895

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('book_vectors',
    sa.Column('model_run_id', sa.Integer(), nullable=False),
    sa.Column('book_id', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(length=4096), nullable=False),
    sa.ForeignKeyConstraint(['book_id'], ['books.id'], name=op.f('fk_book_vectors_book_id_books'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], name=op.f('fk_book_vectors_model_run_id_model_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_run_id', 'book_id', name=op.f('pk_book_vectors'))
    )
    with op.batch_alter_table('book_vectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_book_vectors_book_id'), ['book_id'], unique=False)

    op.create_table('dismissals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('book_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['book_id'], ['books.id'], name=op.f('fk_dismissals_book_id_books'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_dismissals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dismissals')),
    sa.UniqueConstraint('user_id', 'book_id', name=op.f('uq_dismissals_user_id_book_id'))
    )
    with op.batch_alter_table('dismissals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dismissals_book_id'), ['book_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dismissals_user_id'), ['user_id'], unique=False)



def downgrade():
    # The indexes go with their tables (MariaDB refuses to drop an index a foreign key uses).
    op.drop_table('dismissals')
    op.drop_table('book_vectors')
