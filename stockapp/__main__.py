"""``python -m stockapp``: the same entry as the ``stockapp`` command."""

from stockapp.cli import main

raise SystemExit(main())
