"""Prices in: CSV files, bundled samples and Yahoo Finance, as one validated PriceSeries."""

from stockapp.core.data_source import DataSource
from stockapp.data.csv_loader import load_csv
from stockapp.data.samples import SampleInfo, list_samples, load_sample
from stockapp.data.series import PriceSeries, QualityReport
from stockapp.data.yahoo import load_ticker

__all__ = [
    "DataSource",
    "PriceSeries",
    "QualityReport",
    "SampleInfo",
    "list_samples",
    "load_csv",
    "load_sample",
    "load_ticker",
]
