"""Local HTTP emulators of the platforms q2c calls, built from their public documentation.

Part of the package (not only the tests): `q2c demo --platforms` runs the connectors against them.

Each is a real HTTP server on 127.0.0.1 that implements the semantics q2c relies on and
records every effect (record created, updated, invoice finalized), so tests assert what a
user of the platform would see ("one project created"), not how many requests were sent.
Stripe is tested against Stripe's own stripe-mock instead (`engine.emulators.stripe_mock`).
"""
