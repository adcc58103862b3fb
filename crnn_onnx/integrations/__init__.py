"""Adapters that put the recogniser after the detectors of other hosts (one module per host)."""
