"""`Closing`: what makes an object holding a resource a context manager."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """`close()` on every way out of the `with` block (an error, Ctrl-C, or none)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
