"""One download from Yahoo Finance through yfinance, and what its failure is called.

yfinance is told to raise its typed exceptions (``YFRateLimitError``, ``YFPricesMissingError``,
the HTTP library's errors), which say what went wrong; its log (from this thread only) is read
as well, for failures that only log. Every call is wrapped broadly and an empty frame counts as
a failure, classified as offline, rate-limited, unknown symbol, no prices or other, and said in
one sentence. The cache and the merging of downloads live in :mod:`stockapp.data.yahoo`.
"""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from stockapp.data.series import PRICE_COLUMNS
from stockapp.paths import cache_dir

#: The corporate actions yfinance reports beside the prices (0 on bars without one).
ACTION_COLUMNS = ("Dividends", "Stock Splits")
#: Seconds yfinance waits for the price request itself.
TIMEOUT_S = 20

_yf_cache_location: Path | None = None


@dataclass(frozen=True)
class Failure:
    kind: str  # "offline", "ratelimit", "unknown", "empty" or "other"
    detail: str


def _yfinance():
    """Import yfinance, pointing its own sqlite caches into stockapp's cache folder first."""
    global _yf_cache_location
    import yfinance as yf

    # yfinance 1.7 still calls pandas with inplace=True, which pandas 3 deprecates: warnings
    # raised inside yfinance are noise to users. Re-added on each call (a filter replaces its
    # twin) because test runners reset the filters.
    for category in (DeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category, module=r"yfinance(\.|$)")
    # Raise yfinance's typed exceptions (YFRateLimitError, YFPricesMissingError, the HTTP
    # library's errors) rather than only logging them, so failures need no log-text guessing.
    yf.config.debug.hide_exceptions = False
    location = cache_dir() / "yfinance"
    if location != _yf_cache_location:
        location.mkdir(parents=True, exist_ok=True)
        yf.cache.set_cache_location(str(location))
        _yf_cache_location = location
    return yf


class _ThreadLog(logging.Handler):
    """Collects the yfinance logger's messages emitted by one thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage().strip())


@contextmanager
def _yfinance_log() -> Iterator[list[str]]:
    """Capture yfinance's log; having a handler also stops Python printing it to stderr."""
    logger = logging.getLogger("yfinance")
    handler = _ThreadLog()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _classify(error: BaseException | None, messages: list[str]) -> Failure:
    """Why a download failed: from yfinance's typed exceptions first, its log text second."""
    from yfinance import exceptions as yfe

    said = [m for m in messages if m]
    if error is not None:
        said.append(f"{type(error).__name__}: {error}")
    text = " | ".join(said)
    detail = re.sub(r"^\$[^:]+:\s*", "", said[-1]) if said else "no data and no reason given"
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, yfe.YFRateLimitError) or status == 429:
        return Failure("ratelimit", detail)
    if isinstance(error, yfe.YFPricesMissingError):
        return Failure("empty", detail)
    if isinstance(error, yfe.YFTickerMissingError) or status == 404:
        return Failure("unknown", detail)
    # What is left is classified by its text, as for a yfinance that logs instead of raising.
    if re.search(r"too many requests|rate.?limit|\b429\b", text, re.IGNORECASE):
        return Failure("ratelimit", detail)
    network_error = isinstance(error, OSError) and status is None
    if network_error or re.search(
        r"resolve host|DNSError|ConnectionError|Connection refused|timed out|Timeout|"
        r"Failed to perform|Failed to connect|Network is unreachable",
        text,
        re.IGNORECASE,
    ):
        return Failure("offline", detail)
    if re.search(r"no price data found|data doesn't exist", text, re.IGNORECASE):
        return Failure("empty", detail)
    if re.search(r"no timezone found|may be delisted|not found", text, re.IGNORECASE):
        return Failure("unknown", detail)
    return Failure("other", detail)


def _tidy(raw: pd.DataFrame, columns) -> pd.DataFrame:
    frame = raw[[c for c in columns if c in raw.columns]].astype("float64")
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    frame.index = index.normalize().as_unit("ns").rename("Date")
    return frame


@dataclass(frozen=True)
class Bars:
    prices: pd.DataFrame  # PRICE_COLUMNS
    actions: pd.DataFrame  # ACTION_COLUMNS that Yahoo sent: ex-dividend amounts, split ratios


def download(symbol, start, end, interval, session) -> tuple[Bars | None, Failure | None]:
    """Bars in ``[start, end)`` from Yahoo, or why there are none."""
    error = None
    raw = None
    with _yfinance_log() as messages:
        try:
            yf = _yfinance()
            # repair=False: yfinance's repair fetches other intervals to rebuild bars it
            # suspects (several extra requests, each a chance of rate limiting) and rewrites
            # prices by heuristics that can change between downloads, which would make cached
            # and new bars disagree for no reason. Suspect bars are reported by the quality
            # check instead (an extreme move is a warning naming its date).
            raw = yf.Ticker(symbol, session=session).history(
                start=start,
                end=end,
                interval=interval,
                auto_adjust=False,
                actions=True,
                repair=False,
                timeout=TIMEOUT_S,
            )
        except Exception as exc:  # yfinance and its HTTP library raise almost anything
            error = exc
    if isinstance(raw, pd.DataFrame) and not raw.empty and "Close" in raw.columns:
        return Bars(_tidy(raw, PRICE_COLUMNS), _tidy(raw, ACTION_COLUMNS)), None
    return None, _classify(error, messages)


def no_data_sentence(symbol: str, failure: Failure, start: date, end: date) -> str:
    if failure.kind == "unknown":
        return f"Yahoo Finance has no data for ticker '{symbol}'; check the symbol."
    if failure.kind == "offline":
        return (
            f"Could not download {symbol}: there is no network connection to Yahoo Finance; "
            "check the connection and try again."
        )
    if failure.kind == "ratelimit":
        return (
            f"Yahoo Finance is limiting requests right now, so {symbol} could not be "
            "downloaded; try again in a few minutes."
        )
    if failure.kind == "empty":
        return (
            f"Yahoo Finance has no {symbol} prices from {start:%Y-%m-%d} to {end:%Y-%m-%d}; "
            "choose a wider date range."
        )
    return f"Yahoo Finance sent no prices for {symbol} ({failure.detail}); try again later."


def cached_notice(failure: Failure, frame: pd.DataFrame, starts: bool, ends: bool) -> str:
    """What the user is shown instead of fresh bars: which cached ones, and why."""
    reason = {
        "offline": "no network connection",
        "ratelimit": "Yahoo Finance is limiting requests, try again in a few minutes",
    }.get(failure.kind, f"Yahoo Finance sent no prices ({failure.detail})")
    first, last = frame.index[0], frame.index[-1]
    if starts and not ends:
        return f"Showing cached data up to {last:%Y-%m-%d}: {reason}."
    if ends and not starts:
        return f"Showing cached data from {first:%Y-%m-%d}: {reason}."
    return f"Showing cached data from {first:%Y-%m-%d} to {last:%Y-%m-%d}: {reason}."
