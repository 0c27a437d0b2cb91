"""numpy/pandas only: windows, splits, scalers, walk-forward, metrics and the trading rule."""
