"""GitHub tokens at rest, encrypted with the platform's KMS key (reference defect 6).

The encryption context binds a ciphertext to its user: a blob copied onto another user's record
does not decrypt. Only the functions that ask GitHub with a user's token hold Encrypt/Decrypt on the key:
sign-in, the project API and the webhook (builds check the owner's access, `lambdas.shared.access`).
"""

from __future__ import annotations

import base64
from typing import Any


def _context(user_id: str) -> dict[str, str]:
    return {"battleshiper:user": user_id}


def encrypt(kms: Any, key_arn: str, token: str, user_id: str) -> str:
    blob = kms.encrypt(KeyId=key_arn, Plaintext=token.encode(), EncryptionContext=_context(user_id))
    return base64.b64encode(blob["CiphertextBlob"]).decode()


def decrypt(kms: Any, key_arn: str, ciphertext: str, user_id: str) -> str:
    # Naming the key: a ciphertext of any other key is refused rather than decrypted.
    blob = kms.decrypt(
        KeyId=key_arn, CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=_context(user_id)
    )
    return bytes(blob["Plaintext"]).decode()
