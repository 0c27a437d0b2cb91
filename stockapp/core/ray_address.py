"""A Ray address as Ray reads it: the host and port a sweep's engine will connect to.

Plain parsing (no ``ray`` import), so the window can check the Ray address field as it is typed
and :mod:`stockapp.models.sweep_ray` can probe the address before ``ray.init`` would wait on it.
"""

from __future__ import annotations

from stockapp.errors import StockappError

#: Ray Client's port when a ``ray://`` address names none.
CLIENT_PORT = 10001


def ray_endpoint(address: str) -> tuple[str, int] | None:
    """The host and port that ``address`` makes Ray connect to; ``None`` when Ray finds them
    itself (``auto``, ``local``) or no port is given. One sentence for a port that is not one."""
    text = address.strip()
    if text.lower() in ("auto", "local"):
        return None
    client = text.lower().startswith("ray://")
    rest = text[len("ray://") :] if client else text
    rest = rest.split("/", 1)[0]
    host, sep, port = rest.rpartition(":")
    if not sep or host.endswith(":"):  # no port, or a bare IPv6 address
        return (rest.strip("[]"), CLIENT_PORT) if client and rest else None
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise StockappError(
            f"The Ray address '{address}' is not host:port (e.g. 127.0.0.1:6379), "
            "ray://host:10001 or auto."
        )
    return host.strip("[]"), int(port)
