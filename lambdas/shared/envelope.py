"""Envelope encryption of project configuration with the platform's KMS key.

KMS encrypts at most 4 KB, and one call per value would make a listing of a hundred variables a hundred
calls: so KMS makes one 256-bit data key per write (GenerateDataKey), AES-256-GCM seals each value under
it, and the encrypted data key travels with the ciphertext. The encryption context names the project, so a
ciphertext copied to another project does not open, and the project's server function may decrypt only
its own (`kms:EncryptionContext:battleshiper:project` in its role). The additional authenticated data
binds a stored value to its slot (`<project>/<target>/<name>`): moved onto another variable, it fails.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lambdas.shared.names import CONFIG_CONTEXT_KEY

CONTEXT_KEY = CONFIG_CONTEXT_KEY
RUNTIME_FILE_VERSION = 1


class SealBroken(Exception):
    """A sealed value did not open (tampered, moved, another key): no value is in the message."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Sealer:
    """Seals and opens one project's values; one data key per sealer, data keys opened once each."""

    def __init__(self, kms: Any, key_id: str, project: str) -> None:
        self._kms = kms
        self._key_id = key_id
        self.project = project
        self._context = {CONTEXT_KEY: project}
        self._fresh: tuple[bytes, str, str] | None = None  # plaintext key, its ciphertext, key ARN
        self._opened: dict[str, bytes] = {}

    def _data_key(self) -> tuple[bytes, str, str]:
        if self._fresh is None:
            made = self._kms.generate_data_key(KeyId=self._key_id, KeySpec="AES_256",
                                               EncryptionContext=self._context)
            self._fresh = (bytes(made["Plaintext"]), _b64(made["CiphertextBlob"]), str(made["KeyId"]))
        return self._fresh

    def _open_key(self, encrypted: str) -> bytes:
        if encrypted not in self._opened:
            opened = self._kms.decrypt(KeyId=self._key_id, CiphertextBlob=base64.b64decode(encrypted),
                                       EncryptionContext=self._context)
            self._opened[encrypted] = bytes(opened["Plaintext"])
        return self._opened[encrypted]

    def seal(self, plaintext: str, aad: str) -> str:
        """`<data key>.<nonce>.<ciphertext+tag>`, each base64."""
        key, encrypted, _ = self._data_key()
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), aad.encode())
        return ".".join((encrypted, _b64(nonce), _b64(sealed)))

    def open(self, sealed: str, aad: str) -> str:
        parts = sealed.split(".")
        if len(parts) != 3:
            raise SealBroken(f"a stored value of project {self.project} is malformed")
        key = self._open_key(parts[0])  # KMS's own refusals (access, context) go up as they are
        try:
            nonce, data = base64.b64decode(parts[1]), base64.b64decode(parts[2])
            return AESGCM(key).decrypt(nonce, data, aad.encode()).decode()
        except Exception:
            raise SealBroken(f"a stored value of project {self.project} does not decrypt") from None

    def runtime_file(self, variables: dict[str, str]) -> bytes:
        """The configuration file of a deployment's server code (read by the adapter's `config.js`):
        the variables as one JSON object sealed under a data key, AAD the project name."""
        key, encrypted, key_arn = self._data_key()
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, json.dumps(variables).encode(), self.project.encode())
        document = {
            "version": RUNTIME_FILE_VERSION,
            "key_id": key_arn,
            "context": self._context,
            "data_key": encrypted,
            "nonce": _b64(nonce),
            "ciphertext": _b64(sealed),
        }
        return json.dumps(document).encode()
