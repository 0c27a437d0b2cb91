"""Joining a Ray cluster is bounded: a bad address is one sentence within seconds, not minutes."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from stockapp.core.ray_address import ray_endpoint
from stockapp.errors import StockappError
from stockapp.models import sweep_ray
from stockapp.models.sweep_ray import join, probe


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_addresses_name_the_host_and_port_ray_connects_to():
    assert ray_endpoint("127.0.0.1:6379") == ("127.0.0.1", 6379)
    assert ray_endpoint(" head.example:6380 ") == ("head.example", 6380)
    assert ray_endpoint("ray://head:10002") == ("head", 10002)
    assert ray_endpoint("ray://head") == ("head", 10001)
    assert ray_endpoint("[::1]:6379") == ("::1", 6379)
    assert ray_endpoint("auto") is None and ray_endpoint("local") is None
    assert ray_endpoint("head") is None  # Ray finds the port itself
    for bad in ("127.0.0.1:port", "127.0.0.1:0", "127.0.0.1:70000", ":6379"):
        with pytest.raises(StockappError, match="is not host:port"):
            ray_endpoint(bad)


def test_nothing_listening_is_one_sentence_at_once():
    address = f"127.0.0.1:{_closed_port()}"
    started = time.perf_counter()
    with pytest.raises(StockappError) as caught:
        probe(address)
    assert time.perf_counter() - started < 2.0
    text = str(caught.value)
    assert text.startswith(f"No Ray cluster answers at {address} (connection refused); ")
    assert "\n" not in text


def test_a_listener_that_is_not_ray_is_given_up_on_after_the_timeout():
    calls = []
    release = threading.Event()

    class StuckRay:  # a ray.init that retries for minutes, as it does against a non-Ray port
        @staticmethod
        def init(**kwargs):
            calls.append(kwargs)
            release.wait(10)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        address = f"127.0.0.1:{server.getsockname()[1]}"
        probe(address)  # something answers
        started = time.perf_counter()
        try:
            with pytest.raises(StockappError, match="no Ray cluster joined within 0.5 s"):
                join(StuckRay, address, timeout=0.5)
            assert time.perf_counter() - started < 2.0
            assert calls == [{"address": address, "log_to_driver": False, "logging_level": 40}]
            # while that attempt still waits, another one is refused rather than stacked
            with pytest.raises(StockappError, match="earlier attempt .* is still waiting"):
                join(StuckRay, address, timeout=0.5)
        finally:
            release.set()
            sweep_ray._JOINING.pop(address).join(5)


def test_a_failed_join_raises_ray_s_own_error():
    class RefusingRay:
        @staticmethod
        def init(**kwargs):
            raise ConnectionError("Failed to connect to Ray cluster at 127.0.0.1:1")

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with pytest.raises(ConnectionError, match="Failed to connect"):
            join(RefusingRay, f"127.0.0.1:{server.getsockname()[1]}", timeout=5)
