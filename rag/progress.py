"""Progress bars on stderr that appear only when the work is long enough to need them."""

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

# (description, done, total, unit): how a front end other than the terminal follows along.
Listener = Callable[[str, int, int, str], None]


class _Task:
    def __init__(
        self,
        bar: RichProgress | None,
        description: str,
        total: int,
        unit: str,
        listener: Listener | None = None,
    ) -> None:
        self._bar = bar
        self._id = bar.add_task(description, total=total, unit=unit) if bar else None
        self._listener = listener
        self._meta = (description, total, unit)
        self._done = 0

    def advance(self, amount: int = 1) -> None:
        self.set_completed(self._done + amount)

    def set_completed(self, completed: int) -> None:
        self._done = completed
        if self._bar is not None and self._id is not None:
            self._bar.update(self._id, completed=completed)
        if self._listener is not None:
            description, total, unit = self._meta
            self._listener(description, completed, total, unit)


class Progress:
    """`enabled=None` shows a task only if its total reaches its `show_from`."""

    def __init__(self, *, enabled: bool | None = None, listener: Listener | None = None) -> None:
        self.enabled = enabled
        self.listener = listener
        self._bar: RichProgress | None = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def task(
        self, description: str, *, total: int, unit: str = "files", show_from: int = 0
    ) -> _Task:
        shown = self.enabled if self.enabled is not None else total >= show_from
        if not shown or total == 0:
            return _Task(None, description, total, unit, self.listener)
        if self._bar is None:
            self._bar = RichProgress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
        return _Task(self._bar, description, total, unit, self.listener)
