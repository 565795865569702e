"""Dagster assets: thin wrappers that call into the metricstore domain package."""
