"""Deterministic demo landing data for one workspace, ``ws_demo``: :func:`write_demo_landing` writes it (the
``metricstore demo`` command), :func:`read_demo_manifest` reads back what was written.

Modules: :mod:`~metricstore.demo.landing` writes the landing folder, :mod:`~metricstore.demo.manifest` is its
manifest, :mod:`~metricstore.demo.generator` draws the conversations (with :mod:`~metricstore.demo.draws`,
:mod:`~metricstore.demo.transcript` and :mod:`~metricstore.demo.side_events`) as the records of
:mod:`~metricstore.demo.events`, from :mod:`~metricstore.demo.samples` (the shipped MultiDoGO sample) and
:mod:`~metricstore.demo.vocabulary`; :mod:`~metricstore.demo.labels` writes the calibration labels.
"""

from metricstore.demo.landing import write_demo_landing
from metricstore.demo.manifest import read_demo_manifest

__all__ = ["read_demo_manifest", "write_demo_landing"]
