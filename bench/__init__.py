"""The load benchmark (issue 5): `python -m bench --help`. See docs/performance.md."""
