"""The words people read for features, targets and output heads (their identifiers, which the
command line and saved files use, stay as they are)."""

from __future__ import annotations

#: Feature identifier -> its name in words.
FEATURE_LABELS = {
    "log_return": "Log return",
    "close": "Close price",
    "log_volume_change": "Volume change",
    "hl_range": "High-low range",
    "oc_return": "Open-to-close return",
}
#: Target identifier -> its name in words.
TARGET_LABELS = {"return": "Next bar's return", "price": "Next bar's close"}
#: Output head identifier -> its name in words.
HEAD_LABELS = {
    "point": "Point forecast",
    "gaussian": "Gaussian band",
    "student-t": "Student-t band",
}


def feature_label(name: str) -> str:
    """``hl_range`` -> ``High-low range`` (the identifier itself when it has no label)."""
    return FEATURE_LABELS.get(name, name)
