"""nftbot application layer: settings, CLI, pipeline stages, curation, daemon, reports."""

import warnings

# The `clip` package imports pkg_resources, which warns on every start; we pin setuptools so it
# still exists, and the warning says nothing a user can act on.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

__version__ = "0.1.0"
