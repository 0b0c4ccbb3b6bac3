"""Schängel: cited answers about a German city council's documents."""

__version__ = "0.1.0"
