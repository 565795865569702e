"""metricstore: a conversation metric store on DuckDB, orchestrated by Dagster."""

__version__ = "0.1.0"
