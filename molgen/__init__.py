"""molgen: end-to-end 3D molecule generation (EQGAT-diff with Gaunt tensor products)."""

__version__ = "0.1.0"
