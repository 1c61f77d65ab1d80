"""nftbot application layer: settings, CLI, pipeline stages, curation, daemon, reports."""

__version__ = "0.1.0"
