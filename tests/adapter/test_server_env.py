"""The server function's sealed variables: a file written the way the Python deploy side writes it
(`cryptography`'s AES-GCM) opens in the adapter's config.js, whose KMS call botocore finds well signed."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.adapter.conftest import ADAPTER

REGION = "eu-central-1"
CREDS = Credentials("AKIATESTFUNCTION", "function-secret-key", "function-session-token")
KEY_ID = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DATA_KEY = bytes(range(32))
BLOB = base64.b64encode(b"sealed-data-key-blob").decode()
CONFIG_JS = (ADAPTER / "files" / "config.js").as_uri()


def signature_is_valid(method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    authorization = headers["authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={h: headers[h] for h in signed if h != "host"})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(CREDS, "kms", REGION)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    return authorization.endswith(f"Signature={signer.signature(string_to_sign, request)}")


@pytest.fixture
def kms() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A KMS that decrypts BLOB for a request botocore finds correctly signed; (endpoint, calls)."""
    calls: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            url = f"http://{headers['host']}{self.path}"
            calls.append({"target": headers.get("x-amz-target"), "body": json.loads(body),
                          "signed": signature_is_valid("POST", url, headers, body)})
            valid = calls[-1]["signed"] and calls[-1]["body"]["CiphertextBlob"] == BLOB
            answer = {"Plaintext": base64.b64encode(DATA_KEY).decode()} if valid else {"__type": "Denied"}
            payload = json.dumps(answer).encode()
            self.send_response(200 if valid else 400)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", calls
    server.shutdown()


def write_env_file(path: Path, project: str, variables: dict[str, str]) -> None:
    nonce = os.urandom(12)
    sealed = AESGCM(DATA_KEY).encrypt(nonce, json.dumps(variables).encode(), project.encode())
    path.write_text(json.dumps({
        "version": 1, "key_id": KEY_ID, "context": {"battleshiper:project": project},
        "data_key": BLOB, "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }))


def load_in_node(path: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required")
    script = (f"import {{ loadVariables }} from {json.dumps(CONFIG_JS)};\n"
              "console.log(JSON.stringify(await loadVariables(process.argv[1])));\n")
    env = {"PATH": os.environ.get("PATH", ""), "AWS_REGION": REGION, "AWS_ENDPOINT_URL_KMS": endpoint,
           "AWS_ACCESS_KEY_ID": CREDS.access_key, "AWS_SECRET_ACCESS_KEY": CREDS.secret_key,
           "AWS_SESSION_TOKEN": CREDS.token}
    return subprocess.run([node, "--input-type=module", "-e", script, str(path)], env=env,
                          capture_output=True, text=True, timeout=30)


def test_a_file_written_with_python_opens_in_the_server_function(
    kms: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    endpoint, calls = kms
    variables = {"API_SECRET": "sk_live_é\nsecond line", "PUBLIC_SITE_NAME": "Shop"}
    write_env_file(tmp_path / "battleshiper-env.json", "shop", variables)
    result = load_in_node(tmp_path / "battleshiper-env.json", endpoint)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == variables
    assert calls == [{"target": "TrentService.Decrypt", "signed": True, "body": {
        "CiphertextBlob": BLOB, "KeyId": KEY_ID, "EncryptionContext": {"battleshiper:project": "shop"}}}]


def test_the_project_name_is_the_additional_data(
    kms: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    endpoint, _ = kms
    path = tmp_path / "battleshiper-env.json"
    write_env_file(path, "shop", {"API_SECRET": "sk_live_x"})
    config = json.loads(path.read_text())
    config["context"]["battleshiper:project"] = "other"
    path.write_text(json.dumps(config))
    result = load_in_node(path, endpoint)
    assert result.returncode != 0
    assert "does not decrypt" in result.stderr and "sk_live_x" not in result.stderr
