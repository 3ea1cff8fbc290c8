"""Per-key rate limits (DECISIONS.md: sandbox 100/min burst 200, live 1,000/min burst 2,000).

A token bucket per API key, refilled continuously at rate/60 tokens a second up to the burst.
In service mode the bucket lives in Redis and is updated by one Lua script (atomic across
processes); with no Redis (embedded mode) an in-process bucket stands in. If Redis is unreachable
the API stays available (fails open) and logs it: rate limiting protects us, it must not take
merchants' checkouts down.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)

_TOKEN_BUCKET_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + (now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
return {allowed, tostring(tokens)}
"""

_redis_client = None
_redis_lock = threading.Lock()
_script = None
_local_buckets: dict[str, tuple[float, float]] = {}
_local_lock = threading.Lock()


def _redis():
    global _redis_client, _script
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    with _redis_lock:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
            _script = _redis_client.register_script(_TOKEN_BUCKET_LUA)
    return _redis_client


def take_token(bucket: str, *, per_minute: int, burst: int) -> tuple[bool, float]:
    """Takes one token; returns (allowed, tokens left)."""
    rate = per_minute / 60.0
    current = time.time()
    client = _redis()
    if client is not None:
        try:
            allowed, tokens = _script(keys=[f"rl:{bucket}"], args=[rate, burst, current])
            return bool(allowed), float(tokens)
        except Exception:
            log.warning("rate limiter: Redis unavailable, failing open", exc_info=True)
            return True, float(burst)
    with _local_lock:
        tokens, ts = _local_buckets.get(bucket, (float(burst), current))
        tokens = min(burst, tokens + (current - ts) * rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        _local_buckets[bucket] = (tokens, current)
        return allowed, tokens


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view):
        api_key = getattr(request, "api_key", None)
        if api_key is None:
            return True
        per_minute, burst = settings.REVKEEN_RATE_LIMITS["live" if api_key.livemode else "sandbox"]
        allowed, tokens = take_token(api_key.pk, per_minute=per_minute, burst=burst)
        self._rate = per_minute / 60.0
        self._tokens = tokens
        return allowed

    def wait(self):
        # Seconds until one whole token has refilled.
        return max(1, math.ceil((1 - self._tokens) / self._rate))
