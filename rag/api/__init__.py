"""The HTTP API: OpenAI-compatible chat completions with citations, and search."""
