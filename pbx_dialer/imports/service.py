"""Import jobs: check what can be checked at once, then run each job in a worker process
and follow it to its end. The server never parses a row itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pbx_dialer.campaigns.model import TransitionRefused
from pbx_dialer.imports.reader import ImportFailed, header_of
from pbx_dialer.imports.worker import Job
from pbx_dialer.storage import imports as import_rows
from pbx_dialer.storage.db import Database

log = logging.getLogger(__name__)
HEAD_BYTES = 65_536


class ImportNotFound(LookupError):
    pass


class ImportRefused(ValueError):
    """The target cannot take an import now (409)."""


# (campaign id, actor, why): a Completed campaign that got records reopens (the campaign
# service's reopen_for).
Reopen = Callable[[int, str, str], Awaitable[object]]


async def _no_reopen(campaign_id: int, actor: str, why: str) -> None:
    return None


class ImportService:
    def __init__(
        self,
        db: Database,
        clock: Callable[[], float],
        upload_dir: Path | None = None,
        max_running: int = 1,
        reopen: Reopen = _no_reopen,
    ) -> None:
        self.db = db
        self.clock = clock
        self.reopen = reopen
        self.upload_dir = upload_dir or Path(tempfile.gettempdir())
        # One import at a time uses the second core; later ones wait their turn.
        self._slots = asyncio.Semaphore(max_running)
        self._tasks: set[asyncio.Task[None]] = set()
        self._procs: set[asyncio.subprocess.Process] = set()

    def new_upload(self) -> Path:
        fd, name = tempfile.mkstemp(prefix="pbx-import-", suffix=".csv", dir=self.upload_dir)
        os.close(fd)
        return Path(name)

    async def recover(self) -> None:
        """Imports left running by a server that stopped: failed, and undone."""
        for import_id in await import_rows.running(self.db):
            await asyncio.to_thread(self._fail, import_id, "the server stopped during the import")

    async def start(
        self,
        upload: Path,
        *,
        filename: str,
        mapping: dict[str, Any] | None,
        campaign_id: int | None = None,
        project_id: int | None = None,
        actor: str = "import",
    ) -> int:
        """Check the target and the header, then start the job. Raises LookupError,
        ImportRefused or ImportFailed (nothing is stored then)."""
        try:
            if campaign_id is not None:
                status = await import_rows.campaign_status(self.db, campaign_id)
                if status is None:
                    raise LookupError(f"no campaign {campaign_id}")
                if status == "stopped":
                    raise ImportRefused(f"campaign {campaign_id} is {status}: it takes no records")
            elif project_id is not None and await import_rows.project(self.db, project_id) is None:
                raise LookupError(f"no project {project_id}")
            head, size = await asyncio.to_thread(_read_head, upload)
            header_of(head, mapping)
        except (LookupError, ImportRefused, ImportFailed):
            await asyncio.to_thread(upload.unlink, missing_ok=True)
            raise
        import_id = await import_rows.create(
            self.db,
            campaign_id=campaign_id,
            project_id=project_id,
            filename=filename,
            bytes_total=size,
            now=self.clock(),
        )
        job = Job(
            db_path=self.db.path,
            import_id=import_id,
            file_path=str(upload),
            list_name=f"{filename or 'CSV'} (import {import_id})",
            campaign_id=campaign_id,
            project_id=project_id,
            mapping=mapping,
        )
        task = asyncio.create_task(self._run(job, actor))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return import_id

    async def get(self, import_id: int) -> dict[str, Any]:
        found = await import_rows.get(self.db, import_id)
        if found is None:
            raise ImportNotFound(f"no import {import_id}")
        return found

    async def wait(self, import_id: int, timeout: float = 60.0) -> dict[str, Any]:
        """Until the import is no longer running (tests and tools)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = await self.get(import_id)
            if found["state"] != "running" or loop.time() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def _run(self, job: Job, actor: str) -> None:
        try:
            async with self._slots:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "pbx_dialer.imports.worker",
                    job.to_json(),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                self._procs.add(proc)
                try:
                    _, stderr = await proc.communicate()
                finally:
                    self._procs.discard(proc)
                if proc.returncode != 0:
                    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
                    log.error(
                        "import %s worker exited %s: %s", job.import_id, proc.returncode, tail[0]
                    )
                    await asyncio.to_thread(
                        self._fail, job.import_id, f"the import worker failed ({tail[0][:200]})"
                    )
                else:
                    await self._reopen_fed(job.import_id, actor)
        finally:
            await asyncio.to_thread(Path(job.file_path).unlink, missing_ok=True)

    async def _reopen_fed(self, import_id: int, actor: str) -> None:
        """Each Completed campaign the import stored records in reopens, Paused."""
        for campaign_id in await import_rows.campaigns_fed(self.db, import_id):
            try:
                await self.reopen(campaign_id, actor, f"import {import_id} added records")
            except (TransitionRefused, LookupError) as exc:  # stopped or gone meanwhile
                log.warning("import %s: campaign %s not reopened: %s", import_id, campaign_id, exc)

    def _fail(self, import_id: int, error: str) -> None:
        conn = import_rows.connect(self.db.path)
        try:
            row = conn.execute("SELECT state FROM imports WHERE id = ?", (import_id,)).fetchone()
            if row is not None and row[0] == "running":
                import_rows.fail(conn, import_id, error, self.clock())
        finally:
            conn.close()

    async def close(self) -> None:
        for proc in list(self._procs):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        await self.recover()


def _read_head(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as f:
        return f.read(HEAD_BYTES), path.stat().st_size
