"""One exception for everything that can go wrong loading or running a sentiment model."""

from __future__ import annotations


class ModelError(Exception):
    """The model could not be found, verified or loaded; the message names the file or package."""
