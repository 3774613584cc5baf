"""twin: a digital-twin risk early-warning engine for cross-border e-commerce freight."""

__version__ = "0.1.0"
