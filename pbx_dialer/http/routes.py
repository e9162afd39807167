"""Every route of the application, listed in one function."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from pbx_dialer.http import (  # records: DNC and contact lists
    attempts,
    campaigns,
    dnc,
    hour_codes,
    imports,
    lists,
    live_feeds,
    openapi,
    projects,
    records,
    status,
    transfers,
)


def setup_routes(app: web.Application, static_dir: Path) -> None:
    app.router.add_get("/", status.index, name="index")
    app.router.add_get("/ws", status.websocket, name="ws")
    app.router.add_get("/healthz", status.healthz, name="healthz")
    app.router.add_get("/api/status", status.snapshot, name="api-status")
    app.router.add_get("/campaigns/{id:\\d+}/import", imports.import_page, name="campaign-upload")
    app.router.add_get("/api/openapi.json", openapi.openapi_json, name="openapi")
    app.router.add_get("/api/campaigns", campaigns.list_campaigns)
    app.router.add_post("/api/campaigns", campaigns.create_campaign)
    app.router.add_get("/api/campaigns/{id:\\d+}", campaigns.get_campaign)
    app.router.add_patch("/api/campaigns/{id:\\d+}", campaigns.edit_campaign)
    app.router.add_post("/api/campaigns/{id:\\d+}/clone", campaigns.clone_campaign)
    app.router.add_post("/api/campaigns/{id:\\d+}/suspend", campaigns.suspend)
    app.router.add_post("/api/campaigns/{id:\\d+}/resume", campaigns.resume)
    app.router.add_get("/api/campaigns/{id:\\d+}/history", campaigns.history)
    app.router.add_get("/api/campaigns/{id:\\d+}/why", campaigns.why_not_dialing)
    app.router.add_get("/api/campaigns/{id:\\d+}/stats", campaigns.stats)
    app.router.add_get(
        "/api/campaigns/{id:\\d+}/records/{record_id:\\d+}/why", campaigns.why_record_not_dialed
    )
    app.router.add_post("/api/campaigns/{id:\\d+}/records", records.add_records)
    app.router.add_get("/api/campaigns/{id:\\d+}/records", records.list_records)
    app.router.add_get("/api/campaigns/{id:\\d+}/attempts", campaigns.list_attempts)
    app.router.add_post("/api/attempts/{id:\\d+}/classify", attempts.classify)
    app.router.add_get("/api/projects", projects.list_projects)
    app.router.add_post("/api/projects", projects.create_project)
    app.router.add_get("/api/projects/{id:\\d+}", projects.get_project)
    app.router.add_patch("/api/projects/{id:\\d+}", projects.edit_project)
    for control in ("play", "pause", "stop"):
        app.router.add_post(f"/api/campaigns/{{id:\\d+}}/{control}", campaigns.control)
    # Live campaigns fed by a CRM (issue 3).
    app.router.add_put("/api/campaigns/{id:\\d+}/feed", live_feeds.put_feed)
    app.router.add_get("/api/campaigns/{id:\\d+}/feed", live_feeds.get_feed)
    app.router.add_delete("/api/campaigns/{id:\\d+}/feed", live_feeds.delete_feed)
    # Records: DNC lists, contact lists, inventory, cancel (search is GET .../records).
    # The global do-not-call list and each campaign's own.
    phone = dnc.PHONE_PATH
    for prefix in ("/api", "/api/campaigns/{id:\\d+}"):
        app.router.add_get(f"{prefix}/dnc", dnc.list_dnc)
        app.router.add_post(f"{prefix}/dnc", dnc.add_dnc)
        app.router.add_post(f"{prefix}/dnc/remove", dnc.remove_dnc)
        app.router.add_get(f"{prefix}/dnc.csv", dnc.download_csv)
        app.router.add_post(f"{prefix}/dnc.csv", dnc.upload_csv)
        app.router.add_get(f"{prefix}/dnc/{phone}", dnc.get_dnc)
        app.router.add_delete(f"{prefix}/dnc/{phone}", dnc.delete_dnc)
    app.router.add_get("/api/campaigns/{id:\\d+}/lists", lists.list_lists)
    app.router.add_post("/api/campaigns/{id:\\d+}/lists", lists.create_list)
    app.router.add_patch("/api/campaigns/{id:\\d+}/lists/{list_id:\\d+}", lists.edit_list)
    app.router.add_get("/api/campaigns/{id:\\d+}/inventory", records.inventory)
    app.router.add_post("/api/campaigns/{id:\\d+}/records/cancel", records.cancel_records)
    # Hour codes and calling windows (issue 3).
    app.router.add_get("/api/hour-codes", hour_codes.list_hour_codes)
    app.router.add_post("/api/hour-codes", hour_codes.create_hour_code)
    app.router.add_get("/api/hour-codes/{id:\\d+}", hour_codes.get_hour_code)
    app.router.add_patch("/api/hour-codes/{id:\\d+}", hour_codes.edit_hour_code)
    app.router.add_delete("/api/hour-codes/{id:\\d+}", hour_codes.delete_hour_code)
    app.router.add_get("/api/hour-codes/{id:\\d+}/check", hour_codes.check_hour_code)
    # CSV import into a campaign or a project, progress, reject file (issue 3).
    app.router.add_post("/api/campaigns/{id:\\d+}/imports", imports.import_to_campaign)
    app.router.add_post("/api/projects/{id:\\d+}/imports", imports.import_to_project)
    app.router.add_get("/api/imports/{id:\\d+}", imports.get_import)
    app.router.add_get("/api/imports/{id:\\d+}/rejects.csv", imports.get_rejects)
    # Transfers of campaign calls and their summary (issue 4: recording and transfers).

    app.router.add_get("/api/campaigns/{id:\\d+}/transfers", transfers.list_transfers)
    # Campaign details page: pie, customers, results, transfers, record status (issue 5).
    from pbx_dialer.http import details

    cid = "/api/campaigns/{id:\\d+}"
    app.router.add_get("/campaigns/{id:\\d+}", details.page, name="campaign-details")
    app.router.add_get(f"{cid}/pie", details.pie)
    app.router.add_get(f"{cid}/customers", details.customers)
    app.router.add_get(f"{cid}/records/{{record_id:\\d+}}/attempts", details.record_attempts)
    app.router.add_get(f"{cid}/delivery", details.delivery)
    app.router.add_get(f"{cid}/record-status", details.record_status)
    app.router.add_get(f"{cid}/realtime", details.realtime)
    app.router.add_get("/api/attempts/{id:\\d+}/recording", details.recording)
    # Users, roles, visibility: log-in, log-out, who am I (issue 5).
    from pbx_dialer.http import auth

    app.router.add_get("/login", auth.login_page, name="login")
    app.router.add_post("/login", auth.login)
    app.router.add_post("/logout", auth.logout, name="logout")
    app.router.add_get("/api/me", auth.me)
    from pbx_dialer.http import users

    app.router.add_get("/admin/users", users.users_page, name="users")
    app.router.add_get("/api/users", users.list_users)
    app.router.add_post("/api/users", users.create_user)
    app.router.add_get("/api/users/{id:\\d+}", users.get_user)
    app.router.add_patch("/api/users/{id:\\d+}", users.edit_user)
    app.router.add_post("/api/users/{id:\\d+}/password", users.set_password)
    app.router.add_get("/api/users/{id:\\d+}/tokens", users.list_tokens)
    app.router.add_post("/api/users/{id:\\d+}/tokens", users.create_token)
    app.router.add_delete("/api/users/{id:\\d+}/tokens/{token_id:\\d+}", users.delete_token)
    # Agent desk and agent page: preview mode, callbacks for one agent (issues 4 and 5).
    from pbx_dialer.http import agents

    app.router.add_get("/agent", agents.agent_page, name="agent")
    app.router.add_get("/api/agents/{agent}/desk", agents.get_desk)
    app.router.add_post("/api/agents/{agent}/next", agents.next_record)
    app.router.add_post("/api/agents/{agent}/accept", agents.accept)
    app.router.add_post("/api/agents/{agent}/skip", agents.skip)
    # Campaigns dashboard, campaign table and edit page (issue 5).
    from pbx_dialer.http import dashboard, pages

    app.router.add_get("/campaigns", pages.dashboard_page, name="dashboard")
    app.router.add_get("/campaigns/table", pages.table_page, name="campaign-table")
    app.router.add_get("/campaigns/new", pages.new_page, name="campaign-new")
    app.router.add_get("/campaigns/{id:\\d+}/edit", pages.edit_page, name="campaign-edit")
    app.router.add_get("/ws/dashboard", dashboard.websocket, name="ws-dashboard")
    app.router.add_get("/api/dashboard", dashboard.dashboard)
    app.router.add_static("/static", static_dir, name="static")
