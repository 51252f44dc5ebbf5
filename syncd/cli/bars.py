"""The columns of every progress bar (`syncd sync`, `syncd cloud put/get`): sizes and rates
in binary units (`units.size`), as every other output says them; rich's own are decimal.

Imports rich: only a command that draws bars on a terminal loads this module.
"""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    DownloadColumn,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from syncd import units


class BinaryRateColumn(ProgressColumn):
    """The transfer rate, `1.5 MiB/s` (rich's `TransferSpeedColumn` says `1.6 MB/s`)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("?", style="progress.data.speed")
        return Text(f"{units.size(int(speed))}/s", style="progress.data.speed")


def transfer_columns() -> tuple[ProgressColumn, ...]:
    """A description (plain text, never markup: it holds names), the bar, bytes done of the
    total, the rate and the time left."""
    return (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(binary_units=True),
        BinaryRateColumn(),
        TimeRemainingColumn(),
    )
