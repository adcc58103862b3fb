"""Benchmark scripts, and the exact CTC reference they share with the tests; not part of the runtime."""
