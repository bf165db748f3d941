"""Master data (legal entities, accounts) as a global table, and account validation against it."""
