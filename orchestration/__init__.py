"""Dagster wiring: the code location, its job and schedule, and the command-line runner."""
