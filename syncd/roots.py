"""Which folders may be sync roots: pure rules over paths, as written or as resolved.

A root may not be a system folder, may not hold syncd's own files (the state folder with
its databases, the token, the log, the config: each would be uploaded, secrets included,
and re-uploaded as it changes), may not lie inside the state folder, and may not overlap
another pair's root (each pair would take the other's writes for the user's edits). The
config applies these rules to the paths as written, then again to the paths resolved on
disk (`syncd.config.check_pair_roots`), where two names for one folder are one folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The folders the system owns. Syncing one would upload the system's files or the whole
# machine ("/"), and a deletion in the cloud would move them to a trash. /tmp is shared
# by every user and emptied at boot; /home holds every user's home (as the home's own
# parent does wherever it is). Folders below them stay allowed (/etc/nginx, /var/www,
# /run/media/u/usb where removable disks are mounted), except below the virtual
# filesystems, whose entries are not files anyone could sync. /mnt, /media, /srv and
# /opt are left out on purpose: a disk or a data folder is commonly mounted there.
SYSTEM_FOLDERS = frozenset(
    Path(folder)
    for folder in (
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
    )
)
VIRTUAL_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


@dataclass(frozen=True, slots=True)
class OwnFiles:
    """What of syncd's own no root may hold: its state folder, and its files by name."""

    state_dir: Path
    files: tuple[tuple[str, Path], ...] = ()  # ("token file", path), ...


def is_system_folder(local_root: Path, homes: Sequence[Path]) -> bool:
    """`homes`: the user's home folder, as written and as resolved."""
    if local_root in SYSTEM_FOLDERS or local_root in (home.parent for home in homes):
        return True
    return any(local_root.is_relative_to(virtual) for virtual in VIRTUAL_FOLDERS)


def root_problem(local_root: Path, own: OwnFiles, homes: Sequence[Path]) -> str | None:
    """Why `local_root` cannot be a sync root (a phrase that follows the root's name), or
    None if it can."""
    if is_system_folder(local_root, homes):
        return "is a system folder: sync a folder of your own"
    if own.state_dir.is_relative_to(local_root):
        return (
            f"holds syncd's state folder ({own.state_dir}), which must never be uploaded: "
            "choose another folder, or move `state_dir` out of it"
        )
    if local_root.is_relative_to(own.state_dir):
        return f"is inside syncd's state folder ({own.state_dir})"
    for what, path in own.files:
        if path.is_relative_to(local_root):
            return (
                f"holds syncd's {what} ({path}), which must never be uploaded: choose "
                "another folder, or move the file out of it"
            )
    return None


def first_overlap(local_roots: Sequence[Path]) -> tuple[int, int] | None:
    """The first root (its index) that is, holds or lies in an earlier one (that one's)."""
    for index, root in enumerate(local_roots):
        for earlier, other in enumerate(local_roots[:index]):
            if root.is_relative_to(other) or other.is_relative_to(root):
                return index, earlier
    return None
