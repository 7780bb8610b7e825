"""Endpoint signing secrets: made, shown once, and kept encrypted at rest.

A secret is `whsec_` and 32 random bytes in base64, the form Standard Webhooks libraries take as
they are (standardwebhooks.Webhook(secret) on the receiving side). The database holds it encrypted
with Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under a key derived from SECRET_KEY
with HKDF-SHA256, so a dump of the database, or a backup, does not hand out the keys users' servers
trust. Changing SECRET_KEY makes the stored secrets unreadable: rotate each endpoint's secret after.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
SECRET_BYTES = 32
# Binds the derived key to this one use, so no other key derived from SECRET_KEY equals it.
HKDF_INFO = b"zapcut webhook endpoint secrets v1"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SecretBox:
    """Encrypts and decrypts endpoint secrets with the key derived from SECRET_KEY."""

    def __init__(self, secret_key: str):
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
            secret_key.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, sealed: bytes) -> str:
        return self._fernet.decrypt(sealed).decode()
