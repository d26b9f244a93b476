"""A user as the platform holds them after signing in: the stand-in's user access token and refresh
token, KMS-encrypted on the record (`lambdas.shared.access.token_values`)."""

from __future__ import annotations

import time
from typing import Any

from battleshiper_cli.local.github import GitHubStandIn
from lambdas.shared import tokens
from lambdas.shared.models import User


def signed_in(user: User, github: GitHubStandIn, kms: Any, key_arn: str) -> User:
    """`user` holding a fresh grant of the stand-in's account with the same id."""
    grant = github.sign_in(int(user.id))
    return user.model_copy(update={
        "github_access_token": tokens.encrypt(kms, key_arn, grant["access_token"], user.id),
        "github_refresh_token": tokens.encrypt(kms, key_arn, grant["refresh_token"], user.id),
        "github_token_expires_at": int(time.time()) + int(grant["expires_in"]),
    })
