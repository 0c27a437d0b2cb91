"""GUI test set-up: real bundled prices as PriceSeries, and no network from the GUI."""

from __future__ import annotations
