"""per-run artifacts of the recommender: similar books, rating-model factors and weights

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:25:53.293908

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_artifacts',
    sa.Column('model_run_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('data', sa.LargeBinary(length=16777215), nullable=False),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], name=op.f('fk_model_artifacts_model_run_id_model_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_run_id', 'name', name=op.f('pk_model_artifacts'))
    )
    op.create_table('reader_factors',
    sa.Column('model_run_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(length=4096), nullable=False),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], name=op.f('fk_reader_factors_model_run_id_model_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reader_factors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_run_id', 'user_id', name=op.f('pk_reader_factors'))
    )
    with op.batch_alter_table('reader_factors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reader_factors_user_id'), ['user_id'], unique=False)

    op.create_table('book_factors',
    sa.Column('model_run_id', sa.Integer(), nullable=False),
    sa.Column('book_id', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(length=4096), nullable=False),
    sa.ForeignKeyConstraint(['book_id'], ['books.id'], name=op.f('fk_book_factors_book_id_books'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], name=op.f('fk_book_factors_model_run_id_model_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_run_id', 'book_id', name=op.f('pk_book_factors'))
    )
    with op.batch_alter_table('book_factors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_book_factors_book_id'), ['book_id'], unique=False)

    op.create_table('similar_books',
    sa.Column('model_run_id', sa.Integer(), nullable=False),
    sa.Column('book_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('similar_book_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.CheckConstraint('rank >= 1', name=op.f('ck_similar_books_rank_positive')),
    sa.ForeignKeyConstraint(['book_id'], ['books.id'], name=op.f('fk_similar_books_book_id_books'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_run_id'], ['model_runs.id'], name=op.f('fk_similar_books_model_run_id_model_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['similar_book_id'], ['books.id'], name=op.f('fk_similar_books_similar_book_id_books'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('model_run_id', 'book_id', 'rank', name=op.f('pk_similar_books'))
    )
    with op.batch_alter_table('similar_books', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_similar_books_similar_book_id'), ['similar_book_id'], unique=False)



def downgrade():
    # Dropping a table drops its indexes (MariaDB refuses to drop an index a foreign key needs first).
    op.drop_table('similar_books')
    op.drop_table('book_factors')
    op.drop_table('reader_factors')
    op.drop_table('model_artifacts')
