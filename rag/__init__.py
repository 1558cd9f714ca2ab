"""Offline document question answering with cited passages."""

from rag import offline as _offline  # noqa: F401  (first: sets the offline environment)

__version__ = "0.1.0"
