"""A tiny content-addressed store for uploaded files, so that share links survive reloads.

A browser upload lives only as long as its Streamlit session. To let a link such as
``?data=upload:3f2a...`` reproduce an analysis after a reload (or on a colleague's screen served by
the same machine), the bytes are kept on disk under the first 16 hex digits of their SHA-256::

    key = put(data)      # "3f2a9c0b1d4e5f60"
    get(key) == data

The directory is ``$SCALECORE_HOME/blobs`` (default ``~/.local/share/scalecore/blobs``), never
inside the repository. Files are written atomically (temporary file + ``os.replace``), so a
concurrent reader never sees half a file. Equal bytes give the same key, so storing twice is free.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from .errors import DataError

KEY_LENGTH = 16
_KEY = re.compile(rf"[0-9a-f]{{{KEY_LENGTH}}}")


def home() -> Path:
    """scalecore's data directory: ``$SCALECORE_HOME`` or ``~/.local/share/scalecore``."""
    configured = os.environ.get("SCALECORE_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "scalecore"


def directory() -> Path:
    return home() / "blobs"


def key_of(data: bytes) -> str:
    """The key ``data`` is stored under: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:KEY_LENGTH]


def is_key(text: str) -> bool:
    return isinstance(text, str) and _KEY.fullmatch(text) is not None


def put(data: bytes) -> str:
    """Store ``data`` (idempotent) and return its key."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"`data` must be bytes; got {type(data).__name__}")
    data = bytes(data)
    key = key_of(data)
    folder = directory()
    path = folder / key
    if path.exists():
        return key
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return key


def get(key: str) -> bytes:
    """The bytes stored under ``key``; :class:`DataError` if there are none on this server."""
    if not is_key(key):
        raise DataError(
            f"`{key}` is not an upload key (16 hexadecimal digits); the link may be cut short. "
            "Upload the file again."
        )
    path = directory() / key
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(
            f"the uploaded file `{key}` is not on this server (it may have been uploaded to another "
            "machine, or the store was cleared). Upload the file again."
        ) from None


def exists(key: str) -> bool:
    return is_key(key) and (directory() / key).is_file()
