"""A tab page whose content is built the first time it is needed, not at start-up.

A page of charts costs a tenth of a second or more to build (each pyqtgraph plot makes its axes,
view box and menus); a tab nobody has opened yet need not delay the window's first paint.
:class:`LazyPage` stands in the tab widget at once and builds its content, through the factory
it was given, on its first show or on the first :meth:`LazyPage.content` call (a controller
drawing into the page before anyone looked at it).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    """An empty page that builds its one widget with ``factory()`` when first needed.

    Signals
    -------
    built()
        the content was just built and laid into the page.
    """

    built = Signal()

    def __init__(self, factory: Callable[[], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._factory = factory
        self._content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def is_built(self) -> bool:
        return self._content is not None

    def content(self) -> QWidget:
        """The page's widget, built now if it was not yet."""
        if self._content is None:
            self._content = self._factory()
            self._layout.addWidget(self._content)
            self.built.emit()
        return self._content

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.content()
        super().showEvent(event)
