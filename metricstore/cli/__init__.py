"""The ``metricstore`` command: run the hourly job, validate definitions, load the demo.

The root group lives here; each job's commands live in a module of their own: ``jobs`` (run, demo, estimate),
``evaluate``, ``calibrate``, ``defs``, ``query``, ``serve`` (serve and keys) and ``webhooks``.
"""

from __future__ import annotations

import click

from metricstore.cli import calibrate, defs, evaluate, jobs, query, serve, webhooks


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """metricstore: conversation metrics in DuckDB, orchestrated by Dagster."""


main.add_command(jobs.run)
main.add_command(jobs.demo)
main.add_command(evaluate.evaluate)
main.add_command(calibrate.calibrate)
main.add_command(jobs.estimate)
main.add_command(defs.defs)
main.add_command(query.query)
main.add_command(serve.serve)
main.add_command(serve.keys)
main.add_command(webhooks.webhooks)
