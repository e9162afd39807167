"""One import job, run in its own process (`python -m pbx_dialer.imports.worker JOB`).

The server starts it so parsing a million rows uses the second core and never holds the
server's GIL. Inside, one thread reads and prepares rows while another writes the
batches (sqlite3 releases the GIL while it works), joined by a short queue so memory
stays bounded whatever the file's size.
"""

from __future__ import annotations

import io
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pbx_dialer.imports.reader import (
    ImportFailed,
    Lines,
    Prepared,
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


_DONE = object()


def run(job: Job, clock: Callable[[], float] = time.time) -> str:
    """Run the job to its end; returns its final state ('done' or 'failed')."""
    conn = import_rows.connect(job.db_path)
    writer = import_rows.ImportWriter(conn, job.import_id, job.list_name, clock())
    try:
        _run(job, writer)
    except (ImportFailed, import_rows.ImportAborted) as exc:
        import_rows.fail(conn, job.import_id, str(exc), clock())
        return "failed"
    except Exception as exc:
        import_rows.fail(conn, job.import_id, f"internal error: {exc}", clock())
        raise
    finally:
        conn.close()
    return "done"


def _run(job: Job, writer: import_rows.ImportWriter) -> None:
    with open(job.file_path, "rb") as binary:
        encoding = detect_encoding(binary)
        text = io.TextIOWrapper(binary, encoding=encoding, newline="")
        lines = Lines(text)
        header, delimiter = read_header(lines)
        columns = map_columns(header, job.mapping)
        writer.set_format(encoding, delimiter)
        if job.project_id is not None:
            raw_rules, default = writer.project(job.project_id)
            rules = parse_rules(raw_rules, columns)
            targets = writer.campaign_targets(writer.rule_campaigns(rules, default))
            preparer = RowPreparer(columns, delimiter, targets, rules, default)
        else:
            assert job.campaign_id is not None
            targets = writer.campaign_targets([job.campaign_id])
            target = targets.get(job.campaign_id)
            if target is None:
                raise ImportFailed(f"no campaign {job.campaign_id}")
            if target.refused:
                raise ImportFailed(
                    f"campaign {job.campaign_id} is not open to imports ({target.refused})"
                )
            writer.direct_campaign = job.campaign_id
            preparer = RowPreparer(columns, delimiter, targets)

        batches: queue.Queue[object] = queue.Queue(maxsize=1)
        failure: list[BaseException] = []

        def write_batches() -> None:
            while True:
                item = batches.get()
                if item is _DONE:
                    return
                if failure:
                    continue  # drain so the reader never blocks
                assert isinstance(item, tuple)
                try:
                    writer.write(item[0], item[1])
                except BaseException as exc:
                    failure.append(exc)

        thread = threading.Thread(target=write_batches, name="import-writer", daemon=True)
        thread.start()
        try:
            _produce(lines, delimiter, preparer, binary.tell, batches, failure, job.batch)
        finally:
            batches.put(_DONE)
            thread.join()
        if failure:
            raise failure[0]
    writer.finish(time.time())


def _produce(
    lines: Lines,
    delimiter: str,
    preparer: RowPreparer,
    position: Callable[[], int],
    batches: queue.Queue[object],
    failure: Sequence[BaseException],
    size: int,
) -> None:
    prepare = preparer.prepare
    batch: list[Prepared | Rejected] = []
    append = batch.append
    for line, cells in read_rows(lines, delimiter):
        if isinstance(cells, Rejected):
            append(cells)
        else:
            item = prepare(line, cells)
            if item is not None:
                append(item)
        if len(batch) >= size:
            if failure:
                return
            batches.put((batch, position()))
            batch = []
            append = batch.append
    batches.put((batch, position()))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # The server's requests come first when both want the CPU.
    os.nice(5)
    if len(args) != 1:
        print("usage: python -m pbx_dialer.imports.worker JOB_JSON", file=sys.stderr)
        return 2
    state = run(Job.from_json(args[0]))
    return 0 if state in ("done", "failed") else 1


if __name__ == "__main__":
    sys.exit(main())
