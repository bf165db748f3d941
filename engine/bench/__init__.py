"""`q2c bench`: the engine's throughput, latency, CPU and memory against its baselines.

Each system under test (the engine, a raw aiokafka pipe, the same saga logic in faust) runs in
its own child process on the same broker and the same generated quote-to-cash traffic, so CPU
and memory figures are per system and the driver's own work is not counted.
"""
