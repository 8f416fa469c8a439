"""The Lua scripts of the Redis queue.

Every state change of the queue is exactly one of these scripts. Redis runs a script
atomically (no other command runs in between) and writes its effects to the AOF and to
replicas as one ``MULTI``/``EXEC`` block, so a client dying at any moment, or Redis itself
stopping, never leaves a message half moved: it is waiting, reserved, or gone.

Every key a script touches is passed in ``KEYS`` (the client computes them), so the scripts
follow the Redis scripting rules. Layout (``P`` is the key prefix, ``A`` an actor's dbid,
``C`` a consumer, ``T`` a reservation token; see README.md):

``P seq``            STRING  global sequence number, INCR at every ``put``
``P a:A:ready``      ZSET    waiting execution ids, scored by their sequence number
``P a:A:msg``        HASH    execution id -> sequence number, for every message queued or reserved
``P a:A:dlv``        HASH    execution id -> deliveries so far (only once reserved)
``P a:A:wake``       LIST    at most one element: wakes one reserver blocked in BLPOP
``P reservations``   HASH    token -> JSON {a: actor, e: execution id, c: consumer, s: seq, d: deliveries}
``P c:C``            SET     tokens held by consumer C
``P consumers``      SET     consumers holding at least one reservation
"""

from __future__ import annotations

__all__ = ["ACK", "PURGE", "PUT", "RELEASE", "RESERVE"]

#: KEYS: seq, ready, msg, wake -- ARGV: execution id.
#: 1 when queued, 0 when the execution id is already queued or reserved (idempotent put).
PUT = """
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then
  return 0
end
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[3], ARGV[1], seq)
redis.call('ZADD', KEYS[2], seq, ARGV[1])
if redis.call('LLEN', KEYS[4]) == 0 then
  redis.call('RPUSH', KEYS[4], '1')
end
return 1
"""

#: KEYS: ready, msg, dlv, reservations, consumer's tokens, consumers, wake
#: ARGV: actor, consumer, token.
#: {execution id, deliveries} of the oldest waiting message, now reserved under the token, or
#: nil when nothing waits. Running it again with the same token (a retry after a lost reply)
#: returns the same reservation instead of taking a second message.
RESERVE = """
local held = redis.call('HGET', KEYS[4], ARGV[3])
if held then
  local r = cjson.decode(held)
  return {r.e, r.d}
end
local top = redis.call('ZPOPMIN', KEYS[1])
if #top == 0 then
  return false
end
local eid = top[1]
local seq = redis.call('HGET', KEYS[2], eid) or top[2]
local n = redis.call('HINCRBY', KEYS[3], eid, 1)
redis.call('HSET', KEYS[4], ARGV[3], cjson.encode({a = ARGV[1], e = eid, c = ARGV[2], s = seq, d = n}))
redis.call('SADD', KEYS[5], ARGV[3])
redis.call('SADD', KEYS[6], ARGV[2])
if redis.call('ZCARD', KEYS[1]) > 0 and redis.call('LLEN', KEYS[7]) == 0 then
  -- more is waiting: pass the wake-up on to the next blocked reserver
  redis.call('RPUSH', KEYS[7], '1')
end
return {eid, n}
"""

#: shared head of ACK and RELEASE: the reservation of ARGV[1] if it is the one the delivery
#: names (actor ARGV[2], execution ARGV[3], consumer ARGV[4]); a stale or foreign token is a no-op.
_HELD = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then
  return 0
end
local r = cjson.decode(held)
if r.a ~= ARGV[2] or r.e ~= ARGV[3] or r.c ~= ARGV[4] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[4], ARGV[1])
if redis.call('SCARD', KEYS[4]) == 0 then
  redis.call('SREM', KEYS[5], r.c)
end
"""

#: KEYS: reservations, msg, dlv, consumer's tokens, consumers, wake
#: ARGV: token, actor, execution id, consumer. 1 when the message was removed, else 0.
ACK = (
    _HELD
    + """
redis.call('HDEL', KEYS[2], r.e)
redis.call('HDEL', KEYS[3], r.e)
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[6])
end
return 1
"""
)

#: KEYS: reservations, msg, ready, consumer's tokens, consumers, wake
#: ARGV: token, actor, execution id, consumer. 1 when the message is waiting again, in its
#: original place (its sequence number from ``put``), else 0.
RELEASE = (
    _HELD
    + """
local seq = redis.call('HGET', KEYS[2], r.e) or r.s
redis.call('HSET', KEYS[2], r.e, seq)
redis.call('ZADD', KEYS[3], seq, r.e)
if redis.call('LLEN', KEYS[6]) == 0 then
  redis.call('RPUSH', KEYS[6], '1')
end
return 1
"""
)

#: KEYS: ready, msg, dlv, wake. The waiting execution ids in order, now removed; reserved
#: messages stay.
PURGE = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
for i = 1, #ids, 1000 do
  local last = math.min(i + 999, #ids)
  redis.call('HDEL', KEYS[2], unpack(ids, i, last))
  redis.call('HDEL', KEYS[3], unpack(ids, i, last))
end
if redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[4])
end
return ids
"""
