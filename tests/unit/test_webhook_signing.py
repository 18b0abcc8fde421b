"""Standard Webhooks signatures: the specification's own example, checked by an independent verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac

from services.alerts.signing import new_secret, sign


def test_the_specifications_example_signature() -> None:
    # the test vector of the standard-webhooks reference libraries
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def verify(secret: str, message_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """A receiver's check written from the specification, not from our signer."""
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    return any(
        hmac.compare_digest(sig.split(",", 1)[1].encode(), expected) for sig in header.split() if sig.startswith("v1,")
    )


def test_a_fresh_secret_signs_and_a_tampered_body_does_not_verify() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    header = sign(secret, "msg_1", 1700000000, b'{"a":1}')
    assert verify(secret, "msg_1", "1700000000", b'{"a":1}', header)
    assert not verify(secret, "msg_1", "1700000000", b'{"a":2}', header)
    assert not verify(secret, "msg_1", "1700000001", b'{"a":1}', header)
