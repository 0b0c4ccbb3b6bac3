"""Loaders turn one file into a RawDocument; registered by file suffix."""

from ingest.loaders.base import Loader, load_file, loader_for, register_loader

__all__ = ["Loader", "load_file", "loader_for", "register_loader"]
