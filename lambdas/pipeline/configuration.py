"""A deployment's runtime configuration, put into its server code.

The build trigger sealed the runtime variables it captured (`lambdas.shared.environment.capture`) into
the build bucket; the deploy adds that file to the server zip before publishing, so the published
version holds the configuration it was built with and a rollback brings both back. The file stays sealed:
the server function opens it at start with its own role, which may decrypt only this project's
(web/adapter/files/config.js). The zip entry has fixed metadata, so a retry publishes the same code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lambdas.shared import names
from lambdas.shared.deps import Deps
from lambdas.shared.models import Deployment
from lambdas.shared.names import Env


def add_configuration(deps: Deps, deployment: Deployment, server_zip: Path) -> int:
    """Add the deployment's sealed configuration to its server zip; the zip's new size."""
    if deployment.runtime_variables:
        key = names.runtime_config_key(deployment.project_name, deployment.deployment_id)
        body = deps.s3.get_object(Bucket=deps.env[Env.BUILD_BUCKET], Key=key)["Body"]
        try:
            sealed = body.read()
        finally:
            body.close()
        info = zipfile.ZipInfo(names.RUNTIME_CONFIG_FILE, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with zipfile.ZipFile(server_zip, "a") as archive:
            if names.RUNTIME_CONFIG_FILE not in archive.namelist():  # a retry extracts the output anew
                archive.writestr(info, sealed)
    return server_zip.stat().st_size
