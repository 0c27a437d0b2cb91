"""stockapp: can a recurrent network forecast a stock? A desktop workbench that answers honestly."""

__version__ = "0.1.0"
