"""Seeding master data: legal entities and accounts onto their compacted topics."""

from __future__ import annotations

import asyncio

from engine.publisher import Publisher
from engine.settings import Settings
from engine.simulators.deals import DealBook


async def seed_master_data(settings: Settings, book: DealBook) -> int:
    """Publish the book's legal entities, then its accounts, through the Publisher.

    Returns how many records were published. Entities go first so that a reader of the
    accounts topic never sees an account naming an entity it has not read yet.
    """
    async with Publisher(settings) as publisher:
        await asyncio.gather(*(publisher.publish(e) for e in book.legal_entities))
        await asyncio.gather(*(publisher.publish(a) for a in book.accounts))
    return len(book.legal_entities) + len(book.accounts)
