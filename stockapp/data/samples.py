"""The real price histories bundled with stockapp, so it works without a network or a file.

They live in the package, in ``stockapp/resources/samples`` (see its ``SOURCES.md`` for where
each came from and under which licence), so a wheel install carries them; the file stem is the
sample's name (``AAPL``, ``^GSPC``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from stockapp.data.csv_loader import load_csv
from stockapp.data.series import PriceSeries
from stockapp.errors import DataError


@dataclass(frozen=True)
class SampleInfo:
    """One bundled sample: its name, file and a short description (may be empty)."""

    name: str
    path: Path
    description: str = ""


def samples_dir() -> Path:
    """The installed package's sample folder, found through :mod:`importlib.resources`."""
    folder = resources.files("stockapp") / "resources" / "samples"
    if not isinstance(folder, Path):  # a zipped install: the CSV reader needs real files
        raise DataError(
            "stockapp is installed as a zip archive, so its bundled samples cannot be read;"
            " install it as a normal (unzipped) package."
        )
    return folder


def _descriptions(folder: Path) -> dict[str, str]:
    """``file -> "ticker, first..last, source repo"`` from the table in SOURCES.md."""
    try:
        text = (folder / "SOURCES.md").read_text(encoding="utf-8")
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[0].endswith(".csv"):
            out[cells[0]] = f"{cells[1]}, {cells[2]}, from {cells[4]}"
    return out


def list_samples() -> list[SampleInfo]:
    """The bundled samples, sorted by name."""
    folder = samples_dir()
    if not folder.is_dir():
        raise DataError(
            f"The bundled samples are missing from this install ({folder});"
            " reinstall stockapp from a wheel or the source checkout."
        )
    descriptions = _descriptions(folder)
    paths = sorted(folder.glob("*.csv"), key=lambda p: p.stem.lstrip("^").upper())
    return [SampleInfo(p.stem, p, descriptions.get(p.name, "")) for p in paths]


def find_sample(name: str) -> SampleInfo:
    """The sample called ``name``, ignoring case and a leading ``^`` ("gspc" finds "^GSPC")."""
    samples = list_samples()
    wanted = name.strip().upper()
    for match in (
        lambda s: s.name.upper() == wanted,
        lambda s: s.name.lstrip("^").upper() == wanted.lstrip("^"),
    ):
        found = [s for s in samples if match(s)]
        if found:
            return found[0]
    available = ", ".join(s.name for s in samples) or "none"
    raise DataError(f"There is no sample named '{name}'; the samples are: {available}.")


def load_sample(name: str) -> PriceSeries:
    """Load a bundled sample as a validated :class:`PriceSeries` (source ``"sample AAPL"``)."""
    info = find_sample(name)
    series = load_csv(info.path)
    origin = dataclasses.replace(series.data_source, kind="sample", where=info.name)
    return dataclasses.replace(series, name=info.name, source=origin.describe(), data_source=origin)
