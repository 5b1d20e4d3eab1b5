"""Ed25519 signatures over a bundle's SHA-256, with the ``cryptography`` library.

The maintainer's server keeps the private key; each box trusts the public key written on its card.
A signature covers the hex digest of the whole bundle file, so checking it needs the file's hash
only, which the box computes anyway.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = b"piclient-bundle-sha256:"  # so a signature made for anything else never passes as one


class BadSignature(Exception):
    pass


def new_private_key() -> bytes:
    """A fresh private key as PEM (PKCS#8, unencrypted: it lives in the server's private data folder)."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_key_text(private_pem: bytes) -> str:
    """The public half as 44 base64 characters, short enough to paste into piclient.yaml."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def sign(private_pem: bytes, sha256_hex: str) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return base64.b64encode(key.sign(PREFIX + sha256_hex.encode("ascii"))).decode("ascii")


def verify(public_key_b64: str, sha256_hex: str, signature_b64: str) -> None:
    try:
        raw = base64.b64decode(public_key_b64.strip(), validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise BadSignature(f"the trusted public key is not a base64 Ed25519 key: {exc}") from None
    try:
        signature = base64.b64decode(signature_b64 or "", validate=True)
        key.verify(signature, PREFIX + sha256_hex.encode("ascii"))
    except (ValueError, InvalidSignature):
        raise BadSignature("the bundle's signature does not match the trusted key") from None
