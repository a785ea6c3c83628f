"""The first stage: a source (path, bytes, text, file object, upload, DataFrame) -> its content, read
once and never written, refused above :data:`MAX_FILE_BYTES` before it is read when its size is known."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..errors import DataError
from . import messages as msg
from .messages import RUNS, Kind

#: Largest input file read, in bytes: a table of runs is kilobytes; 200 MB is about 5 million rows.
#: Read when a file is read (tests lower it with monkeypatch on this module).
MAX_FILE_BYTES = 200 * 1024 * 1024

#: Display name of a pandas DataFrame given instead of a file.
DATAFRAME_NAME = "<DataFrame>"


def gather(sources: Any, names: Sequence[str] | None) -> list[tuple[str, Any]]:
    """Normalise ``sources`` to ``[(display name, source)]`` with unique display names."""
    items = list(sources) if isinstance(sources, (list, tuple)) else [sources]
    if not items:
        raise DataError("no input files were given; pass a path, bytes or an uploaded file")
    if names is not None:
        names = [str(n) for n in ([names] if isinstance(names, str) else names)]
        if len(names) != len(items):
            raise DataError(f"`names` has {len(names)} entries for {len(items)} sources; "
                            f"give one name per source")
    else:
        names = [display_name(src, i) for i, src in enumerate(items, start=1)]
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        if seen[name] > 1:
            path = Path(name)
            name = f"{path.stem} ({seen[name]}){path.suffix}"
        unique.append(name)
    return list(zip(unique, items))


def display_name(src: Any, index: int, default: str = "upload-{index}.csv") -> str:
    """The file name of a path or an upload; ``<DataFrame>`` for a DataFrame; else ``default``."""
    if isinstance(src, pd.DataFrame):
        return DATAFRAME_NAME
    if isinstance(src, (str, os.PathLike)):
        return Path(src).name
    name = getattr(src, "name", None)
    if isinstance(name, str) and name:
        return Path(name).name
    return default.format(index=index)


def read_payload(name: str, src: Any, kind: Kind = RUNS) -> bytes | str:
    """The content of one source, read once and never written."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        try:
            if path.is_file():
                check_size(name, path.stat().st_size, kind)
            return path.read_bytes()
        except FileNotFoundError:
            text_given = isinstance(src, str) and "\n" in src
            hint = " (to load CSV text, pass it as bytes or io.StringIO)" if text_given else ""
            raise DataError(f"`{name}`: file not found at `{path}`{hint}") from None
        except IsADirectoryError:
            raise DataError(f"`{name}` is a folder, not a CSV file") from None
        except OSError as exc:
            raise DataError(f"`{name}` cannot be read: {exc.strerror or exc}") from None
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif callable(getattr(src, "getvalue", None)):
        data = src.getvalue()
    elif callable(getattr(src, "read", None)):
        size = getattr(src, "size", None)  # an UploadedFile knows its size before it is read
        if isinstance(size, int):
            check_size(name, size, kind)
        data = src.read(MAX_FILE_BYTES + 1)
    else:
        raise DataError(f"`{name}`: cannot read a {type(src).__name__}; pass a path, bytes, a file object "
                        f"or a pandas DataFrame")
    if not isinstance(data, (str, bytes)):
        raise DataError(f"`{name}`: reading it gave a {type(data).__name__}, not text or bytes; "
                        f"pass a path, bytes or a file object")
    check_size(name, len(data), kind)
    return data


def check_size(name: str, size: int, kind: Kind = RUNS) -> None:
    if size > MAX_FILE_BYTES:
        raise DataError(f"`{name}` is {msg.size_text(size)}; files above {msg.size_text(MAX_FILE_BYTES)} are "
                        f"refused {kind.too_big}")
