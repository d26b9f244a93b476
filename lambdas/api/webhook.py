"""GitHub App webhooks (`POST /api/pipeline/event`): push builds, installation and repository changes.

The HMAC-SHA256 signature over the raw body is checked before anything else, in constant time; without
a configured secret every request is refused (reference defect 15). Each delivery id is handled once
(a replayed delivery would burn build quota), and released again when handling fails so GitHub's
redelivery can succeed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from lambdas.shared import builds
from lambdas.shared.aws import Clients
from lambdas.shared.builds import BuildRefused
from lambdas.shared.deps import Deps
from lambdas.shared.entry import Handler, lambda_handler
from lambdas.shared.http import error_response, json_response
from lambdas.shared.lifecycle import set_status
from lambdas.shared.log import log
from lambdas.shared.models import Project, ProjectStatus
from lambdas.shared.names import PROJECTS_OWNER_INDEX, USERS_INSTALLATION_INDEX, Env
from lambdas.shared.store import Conflict

DELIVERY_TTL_SECONDS = 7 * 86400  # GitHub lets people redeliver for a few days
# Bodies above this are refused (413) before they are decoded, verified or parsed. GitHub caps payloads
# at 25 MB, but what the platform reads (ref, head commit, repository and installation ids) is small:
# a push of a thousand commits stays under 1 MiB. A bigger delivery builds nothing; the owner builds
# from the dashboard or the CLI instead.
MAX_BODY_BYTES = 2**20
ZERO_SHA = "0" * 40


def create(env: Mapping[str, str], clients: Clients) -> Handler:
    deps = Deps(env, clients)
    return lambda event, context: handle(deps, event, _secret(deps))


def _secret(deps: Deps) -> str:
    try:
        return str(deps.secrets.json(deps.env[Env.GITHUB_SECRET_ARN]).get("webhook_secret") or "")
    except Exception as err:
        log("webhook secret unavailable", level="ERROR", error=repr(err))
        return ""


def too_large(event: dict[str, Any], headers: Mapping[str, str]) -> bool:
    """Over `MAX_BODY_BYTES` by its Content-Length, or by the event's body, measured undecoded: base64
    is 4/3 larger, and a character is at least one byte."""
    declared = str(headers.get("content-length") or "").strip()
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return True
    limit = (MAX_BODY_BYTES + 2) // 3 * 4 if event.get("isBase64Encoded") else MAX_BODY_BYTES
    return len(event.get("body") or "") > limit


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def handle(deps: Deps, event: dict[str, Any], secret: str) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if too_large(event, headers):
        return error_response(413, "payload_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.")
    try:
        body = raw_body(event)
    except ValueError:
        return error_response(400, "bad_request", "The body is not valid base64.")
    if not signature_valid(secret, body, headers.get("x-hub-signature-256")):
        log("webhook: signature refused", level="WARNING", configured=bool(secret))
        return error_response(401, "bad_signature", "The request signature is missing or wrong.")
    kind = headers.get("x-github-event", "")
    delivery = headers.get("x-github-delivery", "")
    if not delivery:
        return error_response(400, "bad_request", "The delivery id is missing.")
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValueError("not an object")
    except ValueError:
        return error_response(400, "bad_request", "The body is not a JSON object.")
    nonce = f"github-delivery:{delivery}"
    if not deps.store.claim_nonce(nonce, int(time.time()) + DELIVERY_TTL_SECONDS):
        return json_response(200, {"result": "duplicate delivery, ignored"})
    try:
        result = dispatch(deps, kind, payload)
    except Exception as err:
        deps.store.nonces.delete_item(Key={"id": nonce})  # let GitHub's redelivery try again
        log("webhook failed", level="ERROR", event=kind, delivery=delivery, error=repr(err))
        return error_response(500, "internal", "The event could not be handled.")
    log("webhook handled", event=kind, delivery=delivery, action=payload.get("action"), result=result)
    return json_response(200, result)


def dispatch(deps: Deps, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    handlers = {
        "ping": lambda _d, _p: {"result": "pong"},
        "installation": installation,
        "installation_repositories": installation_repositories,
        "push": push,
        "repository": repository,
    }
    handle_kind = handlers.get(kind)
    return handle_kind(deps, payload) if handle_kind else {"result": f"event {kind or '?'} ignored"}


def _installation_id(payload: dict[str, Any]) -> int | None:
    value = (payload.get("installation") or {}).get("id")
    return int(value) if isinstance(value, int) else None


def installation(deps: Deps, payload: dict[str, Any]) -> dict[str, Any]:
    """Link the installation to the user who installed it (numeric id, never the login), or unlink it."""
    action, installation_id = payload.get("action"), _installation_id(payload)
    sender = str((payload.get("sender") or {}).get("id", ""))
    if installation_id is None or not sender:
        return {"result": "no installation or sender"}
    try:
        if action in ("created", "unsuspend", "new_permissions_accepted"):
            deps.store.users.update({"id": sender}, {"installation_id": installation_id})
        elif action in ("deleted", "suspend"):
            for user in deps.store.users.query(USERS_INSTALLATION_INDEX, installation_id=installation_id):
                deps.store.users.update(
                    {"id": user.id},
                    {"installation_id": None},
                    "#a0 = :installation",
                    {":installation": installation_id},
                )
        else:
            return {"result": f"installation {action} ignored"}
    except Conflict:
        # Not registered yet: signing in links the installation then (the API asks GitHub).
        return {"result": "user not registered"}
    return {"result": f"installation {action}"}


def _projects(deps: Deps, installation_id: int | None, repository_id: int | None) -> list[Project]:
    """Projects built from this repository through this installation."""
    if installation_id is None or repository_id is None:
        return []
    found = []
    for user in deps.store.users.query(USERS_INSTALLATION_INDEX, installation_id=installation_id):
        found += [
            p
            for p in deps.store.projects.query(PROJECTS_OWNER_INDEX, owner_id=user.id)
            if p.repository.id == repository_id
        ]
    return found


def installation_repositories(deps: Deps, payload: dict[str, Any]) -> dict[str, Any]:
    """Repositories taken out of the installation can no longer be built: say so on their projects."""
    installation_id = _installation_id(payload)
    affected = []
    for repo in payload.get("repositories_removed") or []:
        for project in _projects(deps, installation_id, repo.get("id")):
            set_status(
                deps,
                project.name,
                ProjectStatus.FAILED,
                "the GitHub App no longer has access to the repository",
            )
            affected.append(project.name)
    return {"result": "repositories updated", "projects": affected}


def push(deps: Deps, payload: dict[str, Any]) -> dict[str, Any]:
    ref = str(payload.get("ref", ""))
    if not ref.startswith("refs/heads/"):
        return {"result": "not a branch push"}
    if payload.get("deleted") or payload.get("after") == ZERO_SHA:
        return {"result": "branch deleted, nothing to build"}
    branch = ref[len("refs/heads/") :]
    repo_id = (payload.get("repository") or {}).get("id")
    builds_started, refused = [], []
    # Each project on its own: one failing project does not stop the others (reference defect 37).
    for project in _projects(deps, _installation_id(payload), repo_id):
        if project.branch != branch or project.status in (ProjectStatus.CREATING, ProjectStatus.DELETING):
            continue
        try:
            deployment = builds.trigger_build(deps, project, triggered_by="push", commit=payload.get("after"))
            builds_started.append({"project": project.name, "deployment": deployment.deployment_id})
        except BuildRefused as err:
            refused.append({"project": project.name, "reason": str(err)})
        except Exception as err:
            log("push: build not started", level="ERROR", project=project.name, error=repr(err))
            refused.append({"project": project.name, "reason": "internal error"})
    return {"result": "push", "builds": builds_started, "refused": refused}


def repository(deps: Deps, payload: dict[str, Any]) -> dict[str, Any]:
    action = payload.get("action")
    repo = payload.get("repository") or {}
    projects = _projects(deps, _installation_id(payload), repo.get("id"))
    if action in ("renamed", "transferred") and repo.get("full_name"):
        for project in projects:
            renamed = project.repository.model_copy(update={"full_name": str(repo["full_name"])})
            deps.store.projects.update(
                {"name": project.name}, {"repository": renamed.model_dump(mode="json")}
            )
    elif action == "deleted":
        for project in projects:
            set_status(deps, project.name, ProjectStatus.FAILED, "the GitHub repository was deleted")
    else:
        return {"result": f"repository {action} ignored"}
    return {"result": f"repository {action}", "projects": [p.name for p in projects]}


handler = lambda_handler(create)
