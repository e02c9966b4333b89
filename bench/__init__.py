"""Benchmarks of the importers at county and province scale (`make bench`).

Everything runs against its own database, `<DATABASE_URL db name>_bench`,
which is created, migrated and truncated by `bench.db`; the shared
`gridcare` and `test_gridcare` databases are never touched.
"""
