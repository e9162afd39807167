"""One import job, run in its own process (`python -m pbx_dialer.imports.worker JOB`).

The server starts it so parsing a million rows never holds the server's GIL. This
process reads and prepares rows; a second one (`--write`) stores the batches, so both
cores work, and memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import IO, Any

from pbx_dialer.imports.reader import (
    ImportFailed,
    Lines,
    Rejected,
    RowPreparer,
    detect_encoding,
    map_columns,
    parse_rules,
    read_header,
    read_rows,
)
from pbx_dialer.storage import imports as import_rows

# Rows per transaction: larger batches write the phone index's pages fewer times;
# 25k rows hold the write lock well under a second and keep memory bounded.
BATCH = 25_000


@dataclass(frozen=True)
class Job:
    db_path: str
    import_id: int
    file_path: str
    list_name: str
    campaign_id: int | None = None
    project_id: int | None = None
    mapping: dict[str, Any] | None = None
    batch: int = BATCH

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))


_END = "end"


def run(job: Job, clock: Callable[[], float] = time.time) -> str:
    """Run the job to its end; returns its final state ('done' or 'failed')."""
    conn = import_rows.connect(job.db_path)
    try:
        try:
            error = _run(job, conn)
        except (ImportFailed, import_rows.ImportAborted) as exc:
            error = str(exc)
        except Exception as exc:
            import_rows.fail(conn, job.import_id, f"internal error: {exc}", clock())
            raise
        if error is None:
            return "done"
        import_rows.fail(conn, job.import_id, error, clock())
        return "failed"
    finally:
        conn.close()


def _run(job: Job, conn: sqlite3.Connection) -> str | None:
    """Parse here, store in a writer process; None when done, else why it failed."""
    setup = import_rows.ImportWriter(conn, job.import_id, job.list_name, 0.0)
    with open(job.file_path, "rb") as binary:
        encoding = detect_encoding(binary)
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        lines = Lines(text)
        header, delimiter = read_header(lines)
        columns = map_columns(header, job.mapping)
        setup.set_format(encoding, delimiter)
        direct: int | None = None
        if job.project_id is not None:
            raw_rules, default = setup.project(job.project_id)
            rules = parse_rules(raw_rules, columns)
            targets = setup.campaign_targets(setup.rule_campaigns(rules, default))
            preparer = RowPreparer(columns, delimiter, targets, rules, default)
        else:
            assert job.campaign_id is not None
            targets = setup.campaign_targets([job.campaign_id])
            target = targets.get(job.campaign_id)
            if target is None:
                raise ImportFailed(f"no campaign {job.campaign_id}")
            if target.refused:
                raise ImportFailed(
                    f"campaign {job.campaign_id} is not open to imports ({target.refused})"
                )
            direct = job.campaign_id
            preparer = RowPreparer(columns, delimiter, targets)
        # Parsing and storing each take about a core: the writer is a process of its own
        # (threads would share one GIL), fed through a pipe whose small buffer keeps at
        # most about two batches in memory.
        writer = subprocess.Popen(
            [sys.executable, "-m", "pbx_dialer.imports.worker", "--write", job.to_json()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert writer.stdin is not None
        try:
            with contextlib.suppress(BrokenPipeError):  # the writer failed: it says why
                pickle.dump(direct, writer.stdin, pickle.HIGHEST_PROTOCOL)
                _produce(lines, preparer, binary.tell, writer.stdin, job.batch)
                pickle.dump(_END, writer.stdin, pickle.HIGHEST_PROTOCOL)
        except BaseException:
            writer.kill()
            writer.wait()
            raise
        out, err = writer.communicate()  # closes the pipe; the writer then finishes
    if writer.returncode != 0 or not out:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"internal error: the import writer failed ({tail[0][:200]})"
    error = json.loads(out).get("error")
    return None if error is None else str(error)


def _produce(
    lines: Lines,
    preparer: RowPreparer,
    position: Callable[[], int],
    pipe: IO[bytes],
    size: int,
) -> None:
    prepare = preparer.prepare_row
    rejects: list[tuple[int, str, str]] = []
    groups: dict[int, import_rows.Group] = {}
    count = 0
    for line, cells in read_rows(lines, preparer.delimiter):
        item = cells if isinstance(cells, Rejected) else prepare(line, cells)
        if item is None:
            continue
        count += 1
        if type(item) is tuple:
            campaign_id, row, raw = item
            group = groups.get(campaign_id)
            if group is None:
                group = groups[campaign_id] = import_rows.Group()
            group.lines.append(line)
            group.raws.append(raw)
            group.rows.append(row)
        else:
            assert isinstance(item, Rejected)
            rejects.append((item.line, item.reason, item.raw))
        if count >= size:
            _send(pipe, import_rows.Batch(rejects, groups, position()))
            rejects, groups, count = [], {}, 0
    _send(pipe, import_rows.Batch(rejects, groups, position()))


def _send(pipe: IO[bytes], batch: import_rows.Batch) -> None:
    # One pickle per batch (a long-lived Pickler's memo would keep every batch alive).
    pickle.dump(batch, pipe, pickle.HIGHEST_PROTOCOL)


def write(job: Job, source: IO[bytes], clock: Callable[[], float] = time.time) -> dict[str, str]:
    """The writer process: store the batches read from `source` until the end mark.
    Returns {} when done, {"error": why} when the import must be failed."""
    conn = import_rows.connect(job.db_path, foreign_keys=False)
    writer = import_rows.ImportWriter(conn, job.import_id, job.list_name, clock())
    try:
        writer.direct_campaign = pickle.load(source)
        while True:
            try:
                batch = pickle.load(source)
            except EOFError:
                # The parser stopped without its end mark: it fails the import itself.
                return {"error": "the import stopped before the end of the file"}
            if batch == _END:
                break
            writer.write(batch)
        writer.finish(clock())
    except import_rows.ImportAborted as exc:
        return {"error": str(exc)}
    finally:
        conn.close()
    return {}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # The server's requests come first when both want the CPU.
    os.nice(5)
    if len(args) == 2 and args[0] == "--write":
        result = write(Job.from_json(args[1]), sys.stdin.buffer)
        sys.stdout.write(json.dumps(result))
        return 0
    if len(args) != 1:
        print("usage: python -m pbx_dialer.imports.worker JOB_JSON", file=sys.stderr)
        return 2
    state = run(Job.from_json(args[0]))
    return 0 if state in ("done", "failed") else 1


if __name__ == "__main__":
    sys.exit(main())
