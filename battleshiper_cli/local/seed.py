"""What the local platform puts in place around the stack: what `battleshiper setup` uploads before it
(artifacts, the GitHub App secret), and after it the local user, that user's session and the sample
project. In AWS the operator and an administrator do these by hand."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from battleshiper_cli.local.aws import ACCOUNT, REGION, MotoServer
from battleshiper_cli.local.git_host import LocalGitHub
from lambdas.shared import names, sessions, tokens
from lambdas.shared.models import Limits, Role, Subscription, User
from lambdas.shared.names import Names
from lambdas.shared.secrets import Secrets
from lambdas.shared.store import Store
from templates.config import PlatformConfig
from templates.project import build_project_template

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "localhost"
LOGIN = "local"
PLACEHOLDER_SERVER = ROOT / "web" / "placeholder" / "project-server" / names.SERVER_HANDLER_FILE
SUBSCRIPTION = "local"
SAMPLE_PROJECT = "sample"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def before_stack(
    aws: MotoServer, stack: Names, config: PlatformConfig, github: LocalGitHub
) -> dict[str, str]:
    """What `battleshiper setup` puts in place before the stack (the artifacts bucket with what the
    pipeline reads from it, the GitHub App secret); the stack parameters that name them."""
    s3 = aws.client("s3")
    artifacts = stack.artifacts_bucket(ACCOUNT, REGION)
    s3.create_bucket(Bucket=artifacts)
    s3.put_object(
        Bucket=artifacts,
        Key=config.artifact("project-template").key,
        Body=build_project_template(config).to_json().encode(),
    )
    s3.put_object(
        Bucket=artifacts,
        Key=config.artifact("project-server").key,
        Body=_zip({names.SERVER_HANDLER_FILE: PLACEHOLDER_SERVER.read_bytes()}),
    )
    github_secret = aws.client("secretsmanager").create_secret(
        Name=f"{stack.stack}/github-app", SecretString=json.dumps(github.secret())
    )["ARN"]
    return {
        "Domain": DOMAIN,
        "AdminGitHubUser": str(github.account.id),  # setup resolves the admin login to its id
        "ArtifactsBucket": artifacts,
        "GitHubSecretArn": github_secret,
        "CertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/local",
        "WildcardCertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/local-wildcard",
        "BuildSubnetZones": f"{REGION}a,{REGION}b",  # builds run in the local runner, not in subnets
    }


def local_user(store: Store, github: LocalGitHub, kms: Any, token_key: str) -> None:
    """The local user exists before the first sign-in, with a subscription and every role, so a
    newcomer can create projects at once (in AWS an administrator grants these), and holds a GitHub
    grant as a signed-in user does: repository access is asked with it (lambdas/shared/access.py)."""
    store.subscriptions.put(
        Subscription(
            id=SUBSCRIPTION,
            name="Local",
            limits=Limits(project_count=20, alias_count=20, daily_builds=1000),
        )
    )
    user_id = str(github.account.id)
    grant = github.sign_in(github.account.id)
    store.users.put(
        User(
            id=user_id,
            login=LOGIN,
            name=LOGIN,
            roles=list(Role),
            subscription_id=SUBSCRIPTION,
            installation_id=github.installation.id,
            github_access_token=tokens.encrypt(kms, token_key, grant["access_token"], user_id),
            github_refresh_token=tokens.encrypt(kms, token_key, grant["refresh_token"], user_id),
            github_token_expires_at=int(time.time()) + int(grant["expires_in"]),
        )
    )


def session_cookie(store: Store, secrets: Secrets, signing_key_arn: str, github: LocalGitHub) -> str:
    """A session of the local user, as the API's sign-in would issue it."""
    user = store.users.get(id=str(github.account.id))
    assert user is not None
    token = sessions.issue_session(
        secrets.signing_key(signing_key_arn), domain=DOMAIN, user_id=user.id, version=user.session_version
    )
    return f"{names.SESSION_COOKIE}={token}"


def api(
    port: int, cookie: str, method: str, path: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """One call to the platform's API through the local edge, as the local user's browser makes it."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={
            "host": DOMAIN,
            "origin": f"http://{DOMAIN}:{port}",
            "cookie": cookie,
            "content-type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def project(port: int, cookie: str, name: str) -> dict[str, Any] | None:
    """The project as the local user's dashboard lists it."""
    status, answer = api(port, cookie, "GET", "/api/resource/listproject")
    found = [p for p in (answer or {}).get("projects", []) if p["name"] == name] if status == 200 else []
    return found[0] if found else None
