"""Answering: evidence-first steps, one module each (see `chain`)."""
