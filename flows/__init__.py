"""Prefect flows and the ``uproar`` command line: the layer that wires the others together."""
