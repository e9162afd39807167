"""CSV import handlers: upload (streamed to a file), progress, reject file.

Upload: `POST /api/campaigns/{id}/imports` or `/api/projects/{id}/imports` with the CSV
as the raw body (`Content-Type: text/csv` or `application/octet-stream`) or as the
`file` field of a multipart form. Query: `filename` (names the new list), `mapping`
(JSON: {"phone": ["Tel", "Cell"], "name": "Full name", ...}). Answers 202 with the import
id; the import runs in a worker process. The reject file defuses formula-looking cells.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp_jinja2
from aiohttp import BodyPartReader, web

from pbx_dialer.http import keys
from pbx_dialer.http.campaigns import actor_of, path_id
from pbx_dialer.http.errors import json_error
from pbx_dialer.http.openapi import ERROR as _ERROR
from pbx_dialer.http.openapi import ID_PARAM as _ID_PARAM
from pbx_dialer.http.openapi import json_content as _json
from pbx_dialer.imports.reader import ImportFailed, defuse, parse_mapping
from pbx_dialer.imports.service import ImportNotFound, ImportRefused, ImportService
from pbx_dialer.storage import imports as import_rows

MAX_UPLOAD = 256 * 1024 * 1024
imports_key = web.AppKey("imports", ImportService)
log = logging.getLogger(__name__)


# How often live pages get the progress of running imports.
PROGRESS_INTERVAL_S = 0.5


async def imports_ctx(app: web.Application) -> AsyncIterator[None]:
    """The import service (one worker process per running import) and its progress pusher."""
    service = ImportService(
        app[keys.db_key], app[keys.clock_key], reopen=app[keys.campaigns_key].reopen_for
    )
    await service.recover()
    app[imports_key] = service
    progress = asyncio.get_running_loop().create_task(_publish_progress(app))
    yield
    progress.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await progress
    await service.close()


async def _publish_progress(app: web.Application) -> None:
    """Push each running import's progress to live pages, and its last state once done."""
    db, notifier = app[keys.db_key], app[keys.notifier_key]
    watched: set[int] = set()
    # Imports up to this id have been seen; a newer one is reported even if it already
    # ended, so a page never waits for a "done" that was never pushed.
    seen = max(await import_rows.running_or_after(db, 0), default=0)
    while True:
        await asyncio.sleep(PROGRESS_INTERVAL_S)
        try:
            current = await import_rows.running_or_after(db, seen)
            seen = max(current, default=seen)
            running: set[int] = set()
            for import_id in sorted(set(current) | watched):
                found = await import_rows.get(db, import_id)
                if found is not None:
                    notifier.publish("import", {"import": found})
                    if found["state"] == "running":
                        running.add(import_id)
            watched = running
        except Exception:
            log.exception("could not publish import progress")


@aiohttp_jinja2.template("import.html")
async def import_page(request: web.Request) -> dict[str, Any]:
    """Upload a CSV into a campaign and watch it arrive."""
    campaign = await request.app[keys.campaigns_key].get(path_id(request))
    return {"campaign": campaign.to_json()}


class _TooLarge(Exception):
    pass


async def _save(chunks: AsyncIterator[bytes], target: Path) -> int:
    size = 0
    out: BinaryIO = await asyncio.to_thread(target.open, "wb")
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > MAX_UPLOAD:
                raise _TooLarge
            await asyncio.to_thread(out.write, chunk)
    finally:
        await asyncio.to_thread(out.close)
    return size


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(1 << 16):
        yield chunk


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(1 << 16):
        yield chunk


async def _upload(
    request: web.Request, campaign_id: int | None, project_id: int | None
) -> web.Response:
    service = request.app[imports_key]
    filename = request.query.get("filename", "")[:200]
    mapping_text = request.query.get("mapping")
    upload = service.new_upload()
    try:
        if request.content_type == "multipart/form-data":
            got_file = False
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "file":
                    filename = filename or (part.filename or "")[:200]
                    await _save(_part_chunks(part), upload)
                    got_file = True
                elif part.name == "mapping":
                    mapping_text = (await part.text())[:10_000]
            if not got_file:
                upload.unlink(missing_ok=True)
                return json_error(422, "no file in the form", {"file": "missing"})
        else:
            await _save(_body_chunks(request), upload)
    except _TooLarge:
        upload.unlink(missing_ok=True)
        return json_error(413, f"the file is larger than {MAX_UPLOAD} bytes", {"file": "too large"})
    except ValueError as exc:
        # A form without a boundary, a part that is not text where text is expected...
        upload.unlink(missing_ok=True)
        return json_error(400, f"malformed multipart form: {str(exc)[:200]}")
    except BaseException:
        upload.unlink(missing_ok=True)
        raise
    filename = "".join(c for c in filename if c.isprintable())
    try:
        mapping = parse_mapping(mapping_text)
        import_id = await service.start(
            upload,
            filename=filename,
            mapping=mapping,
            campaign_id=campaign_id,
            project_id=project_id,
            actor=actor_of(request),
        )
    except ImportFailed as exc:
        upload.unlink(missing_ok=True)
        return json_error(422, str(exc), exc.fields)
    except ImportRefused as exc:
        return json_error(409, str(exc))
    except LookupError as exc:
        return json_error(404, str(exc))
    return web.json_response(
        {"id": import_id, "state": "running", "url": f"/api/imports/{import_id}"}, status=202
    )


async def import_to_campaign(request: web.Request) -> web.Response:
    return await _upload(request, path_id(request), None)


async def import_to_project(request: web.Request) -> web.Response:
    return await _upload(request, None, path_id(request))


async def get_import(request: web.Request) -> web.Response:
    try:
        found = await request.app[imports_key].get(path_id(request))
    except ImportNotFound as exc:
        return json_error(404, str(exc))
    return web.json_response(found)


async def get_rejects(request: web.Request) -> web.StreamResponse:
    """The rejected rows as CSV (line, reason, raw), streamed page by page."""
    service = request.app[imports_key]
    import_id = path_id(request)
    try:
        await service.get(import_id)
    except ImportNotFound as exc:
        return json_error(404, str(exc))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="import-{import_id}-rejects.csv"',
        }
    )
    await response.prepare(request)
    # The BOM lets spreadsheets read the file as UTF-8.
    await response.write(("\ufeff" + _csv_line(["line", "reason", "raw"])).encode())
    after = 0
    while True:
        page = await import_rows.rejects_page(service.db, import_id, after, 5_000)
        if not page:
            break
        text = "".join(_csv_line([str(line), reason, raw]) for line, reason, raw in page)
        await response.write(text.encode())
        after = page[-1][0]
    await response.write_eof()
    return response


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerow(
        [defuse(c) for c in cells]
    )
    return out.getvalue()


_UPLOAD_PARAMS = [
    _ID_PARAM,
    {
        "name": "filename",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "maxLength": 200},
        "description": "Names the contact list the import creates.",
    },
    {
        "name": "mapping",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": 'JSON object: field -> header, e.g. {"phone": ["Tel", "Cell"], '
        '"name": "Full name"}. Fields: phone, name, first_name, last_name, external_id, '
        "timezone, notes.",
    },
]
_UPLOAD_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "mapping": {"type": "string"},
                },
            }
        },
    },
}
_ACCEPTED = {
    "type": "object",
    "required": ["id", "state", "url"],
    "properties": {
        "id": {"type": "integer"},
        "state": {"type": "string", "enum": ["running"]},
        "url": {"type": "string"},
    },
    "additionalProperties": False,
}
_IMPORT = {
    "type": "object",
    "required": [
        "id",
        "state",
        "bytes_total",
        "bytes_done",
        "rows_read",
        "accepted",
        "rejected",
        "duplicates",
        "filtered",
    ],
    "properties": {
        "id": {"type": "integer"},
        "campaign_id": {"type": "integer", "nullable": True},
        "project_id": {"type": "integer", "nullable": True},
        "filename": {"type": "string"},
        "state": {"type": "string", "enum": ["running", "done", "failed"]},
        "encoding": {"type": "string"},
        "delimiter": {"type": "string"},
        "bytes_total": {"type": "integer"},
        "bytes_done": {"type": "integer"},
        "rows_read": {"type": "integer"},
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "filtered": {"type": "integer"},
        "error": {"type": "string"},
        "started_at": {"type": "number"},
        "finished_at": {"type": "number", "nullable": True},
        "lists": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"id": {"type": "integer"}, "campaign_id": {"type": "integer"}},
            },
        },
    },
}


def _upload_op(target: str) -> dict[str, Any]:
    return {
        "summary": f"Import a CSV file of records into a {target}",
        "parameters": _UPLOAD_PARAMS,
        "requestBody": _UPLOAD_BODY,
        "responses": {
            "202": _json(_ACCEPTED, "the import runs; follow it at url"),
            "404": _json(_ERROR, f"no such {target}"),
            **(
                {"409": _json(_ERROR, "the campaign is stopped (a completed one reopens)")}
                if target == "campaign"
                else {}
            ),
            "413": _json(_ERROR, "the file is too large"),
            "422": _json(_ERROR, "the file cannot be imported (not text, no phone column...)"),
        },
    }


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/api/campaigns/{id}/imports": {"post": _upload_op("campaign")},
    "/api/projects/{id}/imports": {"post": _upload_op("project")},
    "/api/imports/{id}": {
        "get": {
            "summary": "An import's progress and counts",
            "parameters": [_ID_PARAM],
            "responses": {
                "200": _json(_IMPORT, "the import"),
                "404": _json(_ERROR, "no such import"),
            },
        }
    },
    "/api/imports/{id}/rejects.csv": {
        "get": {
            "summary": "Rejected and duplicate rows: line, reason, raw row (formulas defused)",
            "parameters": [_ID_PARAM],
            "responses": {
                "200": {
                    "description": "CSV",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "404": _json(_ERROR, "no such import"),
            },
        }
    },
}
