"""Evaluation: question sets, metrics, runs over configurations, reports."""
