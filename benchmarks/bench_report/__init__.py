"""benchmarks/report's implementation: records.py reads and groups results, markdown.py
renders the tables, plots.py draws with gnuplot, cli.py ties them together."""
