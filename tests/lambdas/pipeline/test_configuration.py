"""A deployment's configuration (issue 14): the build trigger seals the runtime variables, the deploy
puts them into the published server code, so each version holds its own and a rollback restores them."""

from __future__ import annotations

import base64
import io
import json
import time
import zipfile

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from battleshiper_cli.local.functions import function_code
from lambdas.pipeline import deploy
from lambdas.shared import environment, names, releases
from lambdas.shared.builds import trigger_build
from lambdas.shared.envelope import SealBroken, Sealer
from lambdas.shared.environment import Setting
from lambdas.shared.models import Deployment
from tests.lambdas.pipeline.conftest import World
from tests.lambdas.pipeline.support import BUILD_BUCKET, batch_event
from tests.lambdas.pipeline.test_flow import finish_build

FUNCTION = names.Names("battleshiper").project_function("shop")


def build_with(world: World, job: str, **values: str) -> Deployment:
    project = world.deps.store.projects.get(name="shop")
    assert project
    settings = [Setting(name=k, value=v, applies="runtime") for k, v in values.items()]  # type: ignore[arg-type]
    project = environment.set_variables(world.api, project, settings, "octo")
    deployment = trigger_build(world.api, project, triggered_by="101")
    finish_build(world, deployment.deployment_id)
    deploy.deploy_event(world.deploy, batch_event("shop", deployment.deployment_id, job_id=job))
    return deployment


def served_configuration(world: World, qualifier: str) -> dict[str, str]:
    """What the server function would read at start: the file in its code, opened as config.js does."""
    version = world.deps.lambda_.get_alias(FunctionName=FUNCTION, Name=qualifier)["FunctionVersion"]
    with zipfile.ZipFile(io.BytesIO(function_code(FUNCTION, version))) as archive:
        document = json.loads(archive.read(names.RUNTIME_CONFIG_FILE))
    kms = world.deps.client("kms")
    b64 = base64.b64decode
    opened = kms.decrypt(CiphertextBlob=b64(document["data_key"]), EncryptionContext=document["context"])
    key = opened["Plaintext"]
    plain = AESGCM(key).decrypt(b64(document["nonce"]), b64(document["ciphertext"]), b"shop")
    return dict(json.loads(plain))


def test_each_deployment_serves_the_configuration_it_was_built_with(world: World) -> None:
    world.add_project()
    first = build_with(world, "job-1", GREETING="hello")
    assert served_configuration(world, names.LIVE_ALIAS) == {"GREETING": "hello"}
    deploy_log = " ".join(world.log_lines("shop", "deploy"))
    assert "server configuration: 1 runtime variables (GREETING)" in deploy_log
    # Once the job is over the build spec (token, build variables) is gone; the deployment's code holds
    # the sealed file, never the value in clear.
    spec = names.build_spec_key("shop", first.deployment_id)
    assert "Contents" not in world.deps.s3.list_objects_v2(Bucket=BUILD_BUCKET, Prefix=spec)

    time.sleep(1.05)  # deployment ids sort by second
    second = build_with(world, "job-2", GREETING="bonjour")
    assert served_configuration(world, names.LIVE_ALIAS) == {"GREETING": "bonjour"}
    version = world.deps.lambda_.get_alias(FunctionName=FUNCTION, Name=names.LIVE_ALIAS)["FunctionVersion"]
    assert b"bonjour" not in function_code(FUNCTION, version)

    project = world.deps.store.projects.get(name="shop")
    assert project
    releases.rollback(world.api, project, first.deployment_id)
    assert served_configuration(world, names.LIVE_ALIAS) == {"GREETING": "hello"}
    kept = names.deployment_alias(second.deployment_id)
    assert served_configuration(world, kept) == {"GREETING": "bonjour"}


def test_a_value_moved_onto_another_variable_does_not_open(world: World) -> None:
    sealer = Sealer(world.deps.client("kms"), world.api.env[names.Env.TOKEN_KEY_ARN], "shop")
    sealed = sealer.seal("v", "shop/production/A")
    assert sealer.open(sealed, "shop/production/A") == "v"
    for aad in ("shop/production/B", "other/production/A"):
        with pytest.raises(SealBroken):
            sealer.open(sealed, aad)
