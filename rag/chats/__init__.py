"""Saved conversations: every question and its whole `Answer`, with feedback, in SQLite."""
