"""syncd: keep a local folder and an Orange Cloud France folder identical, both ways."""

__version__ = "0.1.0"
