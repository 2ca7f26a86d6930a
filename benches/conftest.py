"""Benchmarks run beside their peers on the same data in the same run:

    python -m pytest benches/ --benchmark-only --benchmark-columns=median,ops,rounds

Figures and ratios are recorded in benches/RESULTS.md.
"""
