"""phone claims: one answer per phone (SMS one-time code)

Revision ID: d2b4c6e8f0a1
Revises: c5ba8ea3941f
Create Date: 2026-11-28 01:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd2b4c6e8f0a1'
down_revision = 'c5ba8ea3941f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('phone_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('codes_sent', sa.Integer(), nullable=False),
    sa.Column('used', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_phone_claims_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_claims')),
    sa.UniqueConstraint('campaign_id', 'pseudonym', name=op.f('uq_phone_claims_campaign_id_pseudonym'))
    )
    with op.batch_alter_table('phone_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_claims_campaign_id'), ['campaign_id'], unique=False)


def downgrade():
    with op.batch_alter_table('phone_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_claims_campaign_id'))

    op.drop_table('phone_claims')
