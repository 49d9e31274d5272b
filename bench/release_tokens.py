"""Release tokens: mint+verify ops/s for EdDSA (ours) against RS256-2048 measured in the same run.

Usage (from the repository root): python -m bench.release_tokens [--seconds 2]
The RS256 baseline uses PyJWT directly with the same claims; "EdDSA raw PyJWT" isolates the
cost of our own checks (JWKS lookup, canonical encoding, claim validation) from the algorithm.
"""

from __future__ import annotations

import argparse
import hashlib
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import cryptography
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from approvals.release.keys import Keyring
from approvals.release.tokens import mint_release_token, verify_release_token

ISSUER = "https://approvals.example.org"
CLIENT = "client-bench"
DIGEST = "sha256:" + hashlib.sha256(b"payload").hexdigest()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rate(operation: Callable[[], object], seconds: float) -> float:
    for _ in range(50):  # warm-up
        operation()
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(20):
            operation()
        count += 20
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.5, help="per case per round")
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    seconds, rounds = arguments.seconds, arguments.rounds

    ring = Keyring.generate()
    jwks = ring.jwks(NOW)

    def ours() -> object:
        minted = mint_release_token(
            ring,
            issuer=ISSUER,
            action_id="act_01",
            audience_client_id=CLIENT,
            action="db.drop_table",
            resource="postgres://prod/staging_tmp",
            payload_digest=DIGEST,
            approvers=["ana@example.org"],
            ttl_seconds=300,
            now=NOW,
        )
        return verify_release_token(
            minted.token, jwks, issuer=ISSUER, audience=CLIENT, expected_digest=DIGEST, now=NOW
        )

    claims = {
        "iss": ISSUER,
        "sub": "act_01",
        "aud": CLIENT,
        "jti": "bench",
        "iat": int(NOW.timestamp()),
        "nbf": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 300,
        "act": "db.drop_table",
        "res": "postgres://prod/staging_tmp",
        "dig": DIGEST,
        "apr": ["ana@example.org"],
    }
    options: dict[str, bool] = {"verify_exp": False, "verify_nbf": False, "verify_iat": False}

    def raw(private: object, public: object, algorithm: str) -> Callable[[], object]:
        def run() -> object:
            token = jwt.encode(claims, private, algorithm=algorithm)  # type: ignore[arg-type]
            return jwt.decode(
                token,
                public,  # type: ignore[arg-type]
                algorithms=[algorithm],
                audience=CLIENT,
                issuer=ISSUER,
                options=options,  # type: ignore[arg-type]
            )

        return run

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = {
        "EdDSA (mint_release_token + verify_release_token)": ours,
        "EdDSA raw PyJWT encode+decode": raw(
            ring.active.private_key, ring.active.public_key, "EdDSA"
        ),
        "RS256-2048 raw PyJWT encode+decode (baseline)": raw(
            rsa_key, rsa_key.public_key(), "RS256"
        ),
    }
    # Interleaved rounds and the median: the machine is shared, so load drifts during a run.
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, operation in cases.items():
            samples[name].append(rate(operation, seconds))
    results = {name: statistics.median(values) for name, values in samples.items()}
    baseline = results["RS256-2048 raw PyJWT encode+decode (baseline)"]
    print(
        f"python {platform.python_version()}, PyJWT {jwt.__version__}, "
        f"cryptography {cryptography.__version__}; median of {rounds} rounds x {seconds}s"
    )
    for name, value in results.items():
        print(f"{name:52s} {value:9.0f} mint+verify/s  {value / baseline:5.2f}x RS256")


if __name__ == "__main__":
    main()
