"""One TLS context for every HTTP client of the process.

Building a context reads and parses the whole CA bundle (~25 ms of CPU); httpx would do it
again for each client (a ComfyUI client per server, an Ollama client per session or verb),
although the context is the same every time and safe to share.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx

__all__ = ["verify"]


@cache
def _default_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()   # certifi's bundle, or SSL_CERT_FILE / SSL_CERT_DIR


def verify(check: bool = True) -> ssl.SSLContext | bool:
    """What to pass as httpx's ``verify``: the shared context, or False to skip checks."""
    return _default_context() if check else False
