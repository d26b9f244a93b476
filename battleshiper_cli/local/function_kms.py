"""KMS as the local project functions reach it, with their roles' IAM enforced.

A project's server function opens its sealed configuration with KMS at start (web/adapter/files/config.js),
signing the request itself. In AWS the call is made with the function role's credentials and IAM decides;
locally each function worker gets credentials of its own (`credentials`), and this endpoint checks the
signature, finds the function's role in IAM (moto) with its inline policies and the permissions boundary,
and makes the call through a client of that principal: a call the role does not allow fails with the
AccessDeniedException AWS would send. Only `Decrypt` is served: it is the one call the functions make.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from battleshiper_cli.local.aws import REGION
from battleshiper_cli.local.iam.enforce import Principal

TARGET = "TrentService.Decrypt"


def signed_by(secret_key: str, method: str, url: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether the SigV4 signature of the request was made with `secret_key` (service kms)."""
    authorization = headers.get("authorization", "")
    try:
        key_id = authorization.split("Credential=")[1].split("/")[0]
        signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
        request = AWSRequest(method=method, url=url, data=body,
                             headers={h: headers[h] for h in signed if h != "host"})
    except (IndexError, KeyError):
        return False
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(key_id, secret_key), "kms", REGION)
    string_to_sign = signer.string_to_sign(request, signer.canonical_request(request))
    return secrets.compare_digest(authorization.rsplit("Signature=", 1)[-1],
                                  signer.signature(string_to_sign, request))


class FunctionKms:
    def __init__(self, principal_of: Callable[[str], Principal],
                 clients_for: Callable[[Principal], Any]) -> None:
        """`principal_of(function)`: the role the function runs with; `clients_for`: its enforced clients."""
        self._principal_of = principal_of
        self._clients_for = clients_for
        self._keys: dict[str, tuple[str, str]] = {}  # access key id -> (secret key, function)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def credentials(self, function: str) -> dict[str, str]:
        """The environment of a new worker of `function`: its own keys and where KMS is."""
        key_id, secret_key = "ASIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
        with self._lock:
            self._keys[key_id] = (secret_key, function)
            if self._server is None:
                self._server = self._start()
            port = self._server.server_address[1]
        return {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret_key,
                "AWS_ENDPOINT_URL_KMS": f"http://127.0.0.1:{port}"}

    def decrypt(self, headers: dict[str, str], path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if headers.get("x-amz-target") != TARGET:
            return 400, {"__type": "UnknownOperationException", "message": "only Decrypt is served locally"}
        key_id = headers.get("authorization", "").split("Credential=")[-1].split("/")[0]
        with self._lock:
            known = self._keys.get(key_id)
        if known is None:
            return 400, {"__type": "UnrecognizedClientException",
                         "message": "The security token included in the request is invalid."}
        secret_key, function = known
        if not signed_by(secret_key, "POST", f"http://{headers.get('host', '')}{path}", headers, body):
            return 400, {"__type": "InvalidSignatureException",
                         "message": "The request signature we calculated does not match the signature you "
                                    "provided."}
        try:
            request = json.loads(body)
            kms = self._clients_for(self._principal_of(function)).client("kms")
            call = {"CiphertextBlob": base64.b64decode(request["CiphertextBlob"]),
                    "EncryptionContext": dict(request.get("EncryptionContext") or {})}
            if request.get("KeyId"):
                call["KeyId"] = str(request["KeyId"])
            answer = kms.decrypt(**call)
        except ClientError as err:
            error = err.response.get("Error", {})
            return 400, {"__type": error.get("Code", "KMSInternalException"),
                         "message": error.get("Message", "")}
        except (ValueError, KeyError, TypeError):
            return 400, {"__type": "ValidationException", "message": "malformed Decrypt request"}
        return 200, {"KeyId": answer["KeyId"], "Plaintext": base64.b64encode(answer["Plaintext"]).decode(),
                     "EncryptionAlgorithm": answer.get("EncryptionAlgorithm", "SYMMETRIC_DEFAULT")}

    def _start(self) -> ThreadingHTTPServer:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer = gate.decrypt(headers, self.path, body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/x-amz-json-1.1")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, name="function-kms", daemon=True).start()
        return server

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
