"""Benchmarks. `python -m tests.bench` runs issue 6's figures (see `tests/bench/__main__.py`)."""
