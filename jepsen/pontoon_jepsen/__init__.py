"""Pontoon's fault-testing harness: the history format and the checkers that judge it.

history     reads a JSON-lines history into operations (an invoke paired with its completion)
register    linearizability of per-key registers (read / write / compare-and-set)
counter     the real-time bounds of a counter whose increments return the new value
simulation  histories of simulated services, correct or with a chosen fault, for tests and
            the checker benchmark
"""
