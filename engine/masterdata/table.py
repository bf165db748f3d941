"""Master data held in memory: the latest legal entity and account records, by id."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.contracts import AccountMasterUpserted, LegalEntityUpserted


@dataclass
class MasterData:
    """Latest master-data records; fed from compacted topics every worker reads in full."""

    legal_entities: dict[str, LegalEntityUpserted] = field(default_factory=dict)
    accounts: dict[str, AccountMasterUpserted] = field(default_factory=dict)

    def apply(self, record: object) -> None:
        """Fold one decoded master-data record into the table (others are ignored)."""
        if isinstance(record, LegalEntityUpserted):
            self.legal_entities[record.legal_entity_id] = record
        elif isinstance(record, AccountMasterUpserted):
            self.accounts[record.account.account_id] = record
