"""Calibration: how well an AI metric agrees with labelled conversations, kept per definition version, and the
gate that keeps a version below its minimum out of aggregates and webhooks."""
