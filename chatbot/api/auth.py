"""Staff keys: configured plain or as ``sha256:<hex>``, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from chatbot.errors import ConfigurationError

log = logging.getLogger("schaengel.api")

_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_MIN_PLAIN_KEY = 16


class StaffKeys:
    """The set of valid staff keys, held only as SHA-256 digests."""

    def __init__(self, configured: str) -> None:
        self._digests: list[bytes] = []
        for entry in (part.strip() for part in configured.split(",")):
            if not entry:
                continue
            if entry.lower().startswith("sha256:"):
                hex_digest = entry[len("sha256:") :].strip().lower()
                if not _HEX_DIGEST.fullmatch(hex_digest):
                    raise ConfigurationError(
                        "SCHAENGEL_STAFF_KEYS: a sha256: entry needs 64 hexadecimal digits"
                    )
                self._digests.append(bytes.fromhex(hex_digest))
            else:
                if len(entry) < _MIN_PLAIN_KEY:
                    log.warning("a staff key is shorter than %d characters", _MIN_PLAIN_KEY)
                self._digests.append(_digest(entry))

    def __bool__(self) -> bool:
        return bool(self._digests)

    def verify(self, presented: str) -> bool:
        """True when ``presented`` is one of the keys; compares every digest (no early exit)."""
        digest = _digest(presented)
        matched = False
        for expected in self._digests:
            matched |= hmac.compare_digest(digest, expected)
        return matched


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()
