"""Typed numpy arrays shared by the numeric core (distances, stock projections)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
