"""Abuse limits: per-client token buckets keyed on a salted hash of the client's network, and
a bounded number of answers generated at once.

Raw addresses are never stored: an address is truncated to its network (/24 for IPv4, /48 for
IPv6) and hashed with a salt before it becomes a bucket key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections.abc import Callable, Sequence

import anyio

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: str | None) -> IPAddress | None:
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientIdentifier:
    """Turns the peer address (and trusted X-Forwarded-For hops) into an anonymous key."""

    def __init__(self, trusted_proxies: Sequence[str], salt: bytes | None = None) -> None:
        self.trusted: list[IPNetwork] = [
            ipaddress.ip_network(p, strict=False) for p in trusted_proxies
        ]
        self.salt = salt or secrets.token_bytes(32)

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted)

    def client_address(self, peer: str | None, forwarded_for: str | None) -> IPAddress | None:
        """The client's address: the peer, or the first untrusted hop behind trusted proxies."""
        address = _address(peer)
        if address is None or not forwarded_for or not self._is_trusted(address):
            return address
        for hop in reversed([h for h in forwarded_for.split(",") if h.strip()]):
            hop_address = _address(hop)
            if hop_address is None:
                break  # garbage in the header: keep the last address we can vouch for
            address = hop_address
            if not self._is_trusted(hop_address):
                break
        return address

    def key(self, peer: str | None, forwarded_for: str | None = None) -> str:
        """A salted hash of the client's network (the raw address is not kept)."""
        address = self.client_address(peer, forwarded_for)
        if address is None:
            network = f"unknown:{peer or ''}"
        else:
            prefix = 24 if address.version == 4 else 48
            network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
        return hmac.new(self.salt, network.encode(), hashlib.sha256).hexdigest()[:32]


class RateLimiter:
    """Token buckets in memory: ``per_minute`` refill, ``burst`` capacity; 0 per minute = off."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 100_000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        """Take one token; 0 when allowed, else the whole seconds until one is available."""
        if self.rate <= 0:
            return 0
        now = self.clock()
        with self._lock:
            tokens, updated = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - updated) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.max_clients:
                    self._prune(now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled completely (they hold no information)."""
        full_after = self.capacity / self.rate
        for key in [k for k, (_, t) in self._buckets.items() if now - t >= full_after]:
            del self._buckets[key]


class AnswerSlots:
    """A bounded number of answers in progress; callers that find no free slot are refused."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use = 0
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        """Slots currently taken."""
        return self._in_use

    def try_acquire(self) -> bool:
        """Take a slot if one is free."""
        with self._lock:
            if self._in_use >= self.limit:
                return False
            self._in_use += 1
            return True

    async def acquire(self, wait_seconds: float) -> bool:
        """Take a slot, waiting up to ``wait_seconds`` for one to become free."""
        deadline = time.monotonic() + wait_seconds
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            await anyio.sleep(0.02)
        return True

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self._in_use = max(0, self._in_use - 1)
