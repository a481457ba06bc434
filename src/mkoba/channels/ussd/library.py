"""The menu library: every version of every role's menu, and which one serves.

Definitions are files named ``<role>.v<version>.yaml``: the ones shipped in
``menus/`` and, when ``MKOBA_USSD_MENUS_DIR`` is set, an operator's own
directory. The highest version of a role serves new sessions (a session keeps
the version it started with). The library looks at its directories every few
seconds, so dropping in a new version rolls it out with no code change and no
restart; a file that does not pass the checks is refused with the reason, and
the versions already loaded go on serving.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from mkoba.channels.ussd.definition import ROLES, Menu, MenuError, load

log = logging.getLogger("mkoba.ussd.menus")

SHIPPED = Path(__file__).parent / "menus"
_NAME = re.compile(r"^(?P<role>[a-z_]+)\.v(?P<version>[0-9]{1,7})\.ya?ml$")
# How often the directories are looked at for new versions.
refresh_interval_s = 2.0


class Library:
    """Menus by role and version."""

    def __init__(self, directories: Iterable[Path], products: Iterable[str] | None = None) -> None:
        self.directories = tuple(directories)
        self.products = None if products is None else frozenset(products)
        self._menus: dict[str, dict[int, Menu]] = {role: {} for role in ROLES}
        self._seen: tuple[tuple[str, int, int], ...] = ()
        self.problems: list[str] = []
        self.refresh()
        missing = [role for role in ROLES if not self._menus[role]]
        if missing:
            raise MenuError(f"no menu for {missing}: {'; '.join(self.problems)}")

    def current(self, role: str) -> Menu:
        """The version that serves new sessions of ``role``."""
        versions = self._menus[role]
        return versions[max(versions)]

    def get(self, role: str, version: int) -> Menu | None:
        """One version of a role's menu, if it exists."""
        return self._menus.get(role, {}).get(version)

    def versions(self, role: str) -> list[int]:
        """The versions of ``role``, oldest first."""
        return sorted(self._menus.get(role, {}))

    def refresh(self) -> bool:
        """Load what changed in the directories; whether anything did."""
        files = self._files()
        signature = tuple(
            (str(path), stat.st_mtime_ns, stat.st_size)
            for path, stat in ((path, path.stat()) for path in files)
        )
        if signature == self._seen:
            return False
        self._seen = signature
        problems: list[str] = []
        for path in files:
            match = _NAME.match(path.name)
            assert match is not None
            role, version = match["role"], int(match["version"])
            try:
                menu = load(path, self.products)
            except MenuError as error:
                problems.append(str(error))
                continue
            if menu.role != role or menu.version != version:
                problems.append(f"{path.name}: says {menu.role} v{menu.version} inside")
                continue
            known = self._menus[role].get(version)
            if known is not None and known.etag != menu.etag and known.source != str(path):
                problems.append(f"{path.name}: {role} v{version} exists with other content")
                continue
            if known is None:
                log.info("USSD menu %s v%d loaded from %s", role, version, path)
            menu.source = str(path)
            self._menus[role][version] = menu
        for problem in problems:
            log.error("USSD menu refused: %s", problem)
        self.problems = problems
        return True

    def _files(self) -> list[Path]:
        files = []
        for directory in (SHIPPED, *self.directories):
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                match = _NAME.match(path.name)
                if match is None or match["role"] not in ROLES:
                    continue
                files.append(path)
        return files
