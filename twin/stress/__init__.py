"""Network stress test: close elements, re-plan the freight they carried, rank the damage."""

from twin.stress.sweep import (
    KINDS,
    Closure,
    Impact,
    StockModel,
    StressReport,
    Sweeper,
    closures,
    elements_of,
    rank,
    sweep,
)

__all__ = [
    "KINDS",
    "Closure",
    "Impact",
    "StockModel",
    "StressReport",
    "Sweeper",
    "closures",
    "elements_of",
    "rank",
    "sweep",
]
