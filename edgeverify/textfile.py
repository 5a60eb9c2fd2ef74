"""Reading a small text file the user gives (target, known issues, template): whole, bounded, decoded, or one
clear error naming the file (and the line of a bad byte), never a traceback and never an unbounded read."""

from __future__ import annotations

import os
from pathlib import Path

MAX_BYTES = 1_048_576  # 1 MB: a target, a known-issues file and a CloudFormation template (its own limit) alike


def read_text(path: str | os.PathLike[str], what: str, error: type[Exception], *, missing: str = "",
              too_large: str = "", kind: str = "YAML text", limit: int = MAX_BYTES) -> str:
    """The file's UTF-8 text; `error(what + ...)` when it is missing, unreadable, over `limit` bytes, binary or
    not UTF-8. `what` names it as the user knows it ("Target file t.yaml"); `missing` and `too_large` end those
    two errors with what to do."""
    p = Path(path)
    if not p.is_file():
        raise error(f"{what}: not found{missing}.")
    try:
        with p.open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise error(f"{what}: cannot be read ({exc.strerror or exc}).") from None
    if len(raw) > limit:
        raise error(f"{what}: larger than {limit:,} bytes{too_large}.")
    if b"\0" in raw[:8192]:
        raise error(f"{what}: looks binary, not {kind}.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise error(f"{what}, line {line}: not UTF-8 text (byte {exc.start}).") from None
