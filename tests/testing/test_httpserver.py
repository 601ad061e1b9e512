"""The test servers' HTTP layer: what it prints when a request goes wrong."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest

from fsartifacts.testing.httpserver import QuietHTTPServer


def test_a_client_that_leaves_is_not_reported_as_a_server_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A client resetting or closing its connection (the fault tests do it on purpose) is
    no error of the server's: nothing is printed. A real error still is."""
    server = QuietHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        for error in (ConnectionResetError(104, "reset by peer"), BrokenPipeError(32, "pipe")):
            try:
                raise error
            except OSError:
                server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug in an endpoint")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError: a bug in an endpoint" in capsys.readouterr().err
    finally:
        server.server_close()
