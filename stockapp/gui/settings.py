"""Remembered settings: one INI file under the user's config folder.

An INI file (rather than the platform registry) keeps the settings readable, lets the tests point
it at a private folder through ``STOCKAPP_HOME``, and behaves the same on every platform. INI
files store every value as text, so the ``read_*`` helpers convert back to the type a caller
expects and fall back to a default on anything unreadable instead of raising.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings

from stockapp.paths import config_dir


def settings_path() -> str:
    """The settings file, ``config_dir()/settings.ini``."""
    return str(config_dir() / "settings.ini")


def app_settings() -> QSettings:
    """A fresh ``QSettings`` on the stockapp settings file; cheap, make one per use."""
    return QSettings(settings_path(), QSettings.Format.IniFormat)


def read_str(settings: QSettings, key: str, default: str = "") -> str:
    """A text value, or ``default`` when missing or not text."""
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def read_bool(settings: QSettings, key: str, default: bool = False) -> bool:
    """A yes/no value; INI files hand these back as ``"true"``/``"false"``."""
    value = settings.value(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
    return default


def read_list(settings: QSettings, key: str) -> list[str]:
    """A list of texts; a one-element list comes back from INI files as a bare string."""
    value = settings.value(key, [])
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v]
    return []
