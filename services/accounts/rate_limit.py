"""Limits on password guessing and on sign-ups, counted in Redis (shared by every accounts replica).

Failed password checks (a wrong password at login, a wrong current_password when changing it) are
counted in fixed windows three ways, and an attempt is refused, before its password is checked, when

1. its email from its address has failed `per_pair.count` times in `per_pair.window_s`: one address
   guessing one account;
2. its address has failed `per_address.count` times, whatever the emails: one address spraying many
   accounts;
3. its email has failed `per_email.count` times from all addresses in `per_email.window_s`, *and*
   this address is one of those that failed for it in that window: many addresses guessing one
   account. An address that has not failed for the email still gets its attempt, so an attacker
   can't lock the owner out, while each attacking address is down to one guess per window.

Successes are not counted: a correct password forgets its address's failures for that email. The
attempt is reserved before the (slow) check and settled after it, so a burst of parallel guesses
can't all slip past the count; both steps are Lua scripts, so each is atomic across replicas.
Emails are stored as SHA-256 digests, so the keys in Redis don't list who tried to log in.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.common.errors import ResourceExhausted, Unavailable

log = logging.getLogger(__name__)

# KEYS: pair counter, address counter, email hash ("total" and one field per address).
# ARGV: pair limit, pair window, address limit, address window, email limit, email window,
#       this address's field in the email hash, "1" when there is an address.
# Returns {0, 0} with the attempt counted, or {which limit (1, 2, 3), seconds left} uncounted.
_RESERVE = """
local pair = tonumber(redis.call('GET', KEYS[1]) or '0')
if pair >= tonumber(ARGV[1]) then return {1, redis.call('TTL', KEYS[1])} end
if ARGV[8] == '1' then
  local address = tonumber(redis.call('GET', KEYS[2]) or '0')
  if address >= tonumber(ARGV[3]) then return {2, redis.call('TTL', KEYS[2])} end
end
local total = tonumber(redis.call('HGET', KEYS[3], 'total') or '0')
local mine = tonumber(redis.call('HGET', KEYS[3], ARGV[7]) or '0')
if total >= tonumber(ARGV[5]) and mine > 0 then return {3, redis.call('TTL', KEYS[3])} end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2], 'NX')
if ARGV[8] == '1' then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[4], 'NX')
end
redis.call('HINCRBY', KEYS[3], 'total', 1)
redis.call('HINCRBY', KEYS[3], ARGV[7], 1)
redis.call('EXPIRE', KEYS[3], ARGV[6], 'NX')
return {0, 0}
"""

# Undoes a reserved attempt. ARGV[1] = "success": the password was right, so this address's
# failures for the email are forgotten too; "cancel": the check never happened (an error).
# ARGV[2] = this address's field, ARGV[3] = "1" when there is an address. Counters that expired
# meanwhile are left alone rather than recreated without a TTL.
_SETTLE = """
local function decrement(key)
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
if ARGV[1] == 'success' then redis.call('DEL', KEYS[1]) else decrement(KEYS[1]) end
if ARGV[3] == '1' then decrement(KEYS[2]) end
local mine = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
local undo = mine
if ARGV[1] ~= 'success' then undo = math.min(mine, 1) end
if undo > 0 then
  local total = tonumber(redis.call('HGET', KEYS[3], 'total') or '0')
  redis.call('HINCRBY', KEYS[3], 'total', -math.min(undo, total))
  if mine - undo > 0 then redis.call('HINCRBY', KEYS[3], ARGV[2], -undo)
  else redis.call('HDEL', KEYS[3], ARGV[2]) end
end
return 0
"""

_REFUSALS = {
    1: "too many failed password attempts for this email from your address",
    2: "too many failed password attempts from your address",
    3: "too many failed password attempts for this email",
}


@dataclass(frozen=True)
class Limit:
    count: int
    window_s: int


def _redis_down(exc: RedisError) -> Unavailable:
    return Unavailable(f"redis unavailable: {type(exc).__name__}")


def _refused(what: str, ttl: int) -> ResourceExhausted:
    retry_after = max(int(ttl), 1)
    return ResourceExhausted(f"{what}; try again in {retry_after} s", retry_after_s=retry_after)


class PasswordAttempt:
    """One reserved password check; `record(ok)` says how it went."""

    def __init__(self) -> None:
        self.ok: bool | None = None

    def record(self, ok: bool) -> None:
        self.ok = ok


class FailedPasswordLimiter:
    def __init__(self, redis: aioredis.Redis, per_pair: Limit, per_address: Limit, per_email: Limit):
        self.per_pair = per_pair
        self.per_address = per_address
        self.per_email = per_email
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    @asynccontextmanager
    async def attempt(self, email: str, client_ip: str) -> AsyncIterator[PasswordAttempt]:
        """Reserve a check of a password for `email` from `client_ip` (RESOURCE_EXHAUSTED with
        retry_after_s when a limit is reached; UNAVAILABLE without Redis), run the block, which calls
        `record(ok)`. A failure stays counted; a success, or a block that raised before recording,
        gives the attempt back."""
        digest = hashlib.sha256(email.encode()).hexdigest()
        keys = [
            f"ratelimit:password:pair:{digest}:{client_ip}",
            f"ratelimit:password:address:{client_ip}",
            f"ratelimit:password:email:{digest}",
        ]
        field = f"address:{client_ip}"
        has_address = "1" if client_ip else "0"
        try:
            refused, ttl = await self._reserve(
                keys=keys,
                args=[
                    self.per_pair.count,
                    self.per_pair.window_s,
                    self.per_address.count,
                    self.per_address.window_s,
                    self.per_email.count,
                    self.per_email.window_s,
                    field,
                    has_address,
                ],
            )
        except RedisError as exc:
            raise _redis_down(exc) from exc
        if refused:
            raise _refused(_REFUSALS[int(refused)], ttl)
        attempt = PasswordAttempt()
        try:
            yield attempt
        finally:
            if attempt.ok is not False:
                outcome = "success" if attempt.ok else "cancel"
                try:
                    await self._settle(keys=keys, args=[outcome, field, has_address])
                except RedisError as exc:
                    # The answer is known; a counter left one too high only tightens a limit briefly.
                    log.warning("could not settle a password attempt (%s): %s", outcome, exc)


class SignUpLimiter:
    """Sign-ups per client address in fixed windows: each costs an Argon2 hash and a new account."""

    def __init__(self, redis: aioredis.Redis, limit: Limit):
        self.redis = redis
        self.limit = limit

    async def hit(self, client_ip: str) -> None:
        if not client_ip:
            return  # an internal caller that names no address
        key = f"ratelimit:signup:address:{client_ip}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.limit.window_s, nx=True)
                pipe.ttl(key)
                count, _, ttl = await pipe.execute()
        except RedisError as exc:
            raise _redis_down(exc) from exc
        if count > self.limit.count:
            raise _refused("too many sign-ups from your address", ttl)
