"""Prices in: CSV files, bundled samples and Yahoo Finance, as one validated PriceSeries."""
