"""Writing the device's small files safely: a power cut leaves the old file or the new one,
never half of one (../shared/notes/pi-kiosk.md, "Storage")."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` so that ``path`` holds either the old or the new content, even across a
    power cut (``written_whole``)."""
    with written_whole(path) as f:
        f.write(text)


@contextlib.contextmanager
def written_whole(
    path: str | Path, *, encoding: str = "utf-8", newline: str | None = None, sync: bool = True
) -> Iterator[TextIO]:
    """A text file to write that appears at ``path`` whole or not at all: written under a
    temporary name in the same folder, synced, renamed over ``path``, the folder synced. An
    error (or a kill) while writing leaves ``path`` as it was and no temporary file behind.

    The temporary name is a new file (``mkstemp``: O_EXCL, so a link planted under any name is
    never followed), and the rename puts the file at ``path`` itself: a symbolic link there is
    replaced, never written through. ``sync=False`` leaves the syncs to the caller (an export of
    thousands of files syncs once at the end).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with written_whole(folder / "a.txt") as f:
    ...     _ = f.write("whole")
    >>> (folder / "a.txt").read_text(), [p.name for p in folder.iterdir()]
    ('whole', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync:
        sync_folder(path.parent)


def sync_folder(folder: str | Path) -> None:
    """A rename inside ``folder`` kept across a power cut."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (FAT on a stick) cannot sync a folder; the data are synced
    finally:
        os.close(fd)
