"""The scoring harness, run records, the quick suite and throughput benchmarks."""
