"""The HTTP service: JSON API, OpenAI-compatible API, citizen widget and staff console."""
