"""`q2c gateway`: the HTTP service platforms post their native events to (store first)."""
