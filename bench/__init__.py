"""Benchmarks for Hirondelle: a dedicated PostgreSQL, data generators and load tests.

See bench/README.md. Run modules with `python -m bench.<module>` from the repository root.
"""
