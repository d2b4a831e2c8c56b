"""The Lua scripts that make each write one atomic round trip.

Each script touches only keys of one thread, which share a cluster hash
slot (see :mod:`.keys`). Scripts run with EVALSHA; ``setup`` loads them, and
a server that lost its script cache (restart, ``SCRIPT FLUSH``) gets the
source once through EVAL (see ``Script`` below).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "ALL",
    "DELETE_IF_TOKEN",
    "DELETE_THREAD",
    "PRUNE_KEEP_LATEST",
    "PUT",
    "PUT_WRITES",
    "READ_THREAD",
    "WRITE_THREAD",
    "Script",
]


class Script:
    """A Lua script with its SHA1, for EVALSHA with an EVAL fallback."""

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()


# Shared by the scripts that sort out a namespace hash's fields: a pending
# write's field starts with the byte length of its checkpoint id, then ":"
# (checkpoint fields start with a letter); ``write_id`` returns that id, or
# nil for a checkpoint field.
_WRITE_ID = """
local function write_id(f)
  local len = string.match(f, '^(%d+):')
  if not len then return nil end
  return string.sub(f, #len + 2, #len + 1 + tonumber(len))
end
"""

# KEYS: namespace hash, search entry, registry set, rollback base.
# ARGV: ttl_ms, ns member, keep prefix (new id), keep prefix (parent id) or "",
#       entry flag ("1": write the search entry), metadata tokens, run token,
#       n required fields, required fields..., then field/value pairs.
# Refuses, writing nothing, in two cases. The namespace holds a checkpoint
# that is neither the new one nor its parent (the caller started from a
# checkpoint that is no longer stored): returns {1, stored id}. A channel
# value the checkpoint refers to but does not send is not stored: returns
# the missing fields, and the saver sends those values too. Otherwise
# replaces the checkpoint's fields with exactly the sent and required ones
# and drops the writes of every checkpoint whose id is older than the new
# one (bytewise; LangGraph's ids are time-ordered), except the parent's.
# Writes of newer ids stay: with "async" durability the next step's writes
# can arrive before this put. The entry's "solo" keeps the run token while
# every checkpoint of the namespace came from that one run, and "run" is the
# run token of the stored checkpoint. When a run starts writing over another
# run's checkpoint, the namespace hash as it was (with that checkpoint's
# entry fields as e:run, e:mt, e:solo) is first copied to the rollback base,
# which delete_for_runs restores.
PUT = Script(
    "put",
    _WRITE_ID
    + """
local a, b = ARGV[3], ARGV[4]
local nb = #b
local newid = string.sub(a, string.find(a, ':', 1, true) + 1)
local cur = redis.call('HGET', KEYS[1], 'id')
if cur and nb > 0 and cur ~= newid then
  if string.sub(b, string.find(b, ':', 1, true) + 1) ~= cur then
    return {1, cur}
  end
end
local nreq = tonumber(ARGV[8])
local keep = {}
local missing = {}
for i = 9, 8 + nreq do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    missing[#missing + 1] = ARGV[i]
  end
  keep[ARGV[i]] = true
end
if #missing > 0 then
  return missing
end
local first = 9 + nreq
for i = first, #ARGV, 2 do
  keep[ARGV[i]] = true
end
local function older(x, y)  -- bytewise x < y (Lua's < follows the locale)
  for i = 1, math.min(#x, #y) do
    local p, q = string.byte(x, i), string.byte(y, i)
    if p ~= q then return p < q end
  end
  return #x < #y
end
if ARGV[5] == '1' and cur then
  local prev = redis.call('HMGET', KEYS[2], 'run', 'mt', 'solo')
  if prev[1] ~= ARGV[7] then
    redis.call('COPY', KEYS[1], KEYS[4], 'REPLACE')
    redis.call('HSET', KEYS[4], 'e:run', prev[1] or '', 'e:mt', prev[2] or '',
      'e:solo', prev[3] or '')
  end
end
local stale = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local id = write_id(f)
  if id then
    if older(id, newid) and (nb == 0 or string.sub(f, 1, nb) ~= b) then
      stale[#stale + 1] = f
    end
  elseif not keep[f] then
    stale[#stale + 1] = f
  end
end
for i = 1, #stale, 1000 do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 999, #stale)))
end
for i = first, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[5] == '1' then
  local solo = ARGV[7]
  if cur and redis.call('HGET', KEYS[2], 'solo') ~= solo then solo = '' end
  redis.call('HSET', KEYS[2], 'id', newid, 'mt', ARGV[6], 'solo', solo,
    'run', ARGV[7])
end
redis.call('SADD', KEYS[3], ARGV[2])
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('PEXPIRE', KEYS[4], ttl)
end
return 0
""",
)

# KEYS: namespace hash, registry set, search entry.
# ARGV: ttl_ms, ns member, then (mode, field, record) triples; mode "n"
# inserts if absent, "s" overwrites.
PUT_WRITES = Script(
    "put_writes",
    """
for i = 3, #ARGV, 3 do
  if ARGV[i] == 'n' then
    redis.call('HSETNX', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HSET', KEYS[1], ARGV[i + 1], ARGV[i + 2])
  end
end
redis.call('SADD', KEYS[2], ARGV[2])
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return 0
""",
)

# KEYS: registry set. ARGV: namespace hash key base, search entry key base,
# rollback base suffix. Deletes every namespace's hash, entry and rollback
# base, and the registry; returns how many keys it removed.
DELETE_THREAD = Script(
    "delete_thread",
    """
local n = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. m, ARGV[2] .. m, ARGV[1] .. m .. ARGV[3])
end
return n + redis.call('DEL', KEYS[1])
""",
)

# KEYS: registry set. ARGV: namespace hash key base, search entry key base,
# ttl_ms to refresh (0: none), rollback base suffix. Returns {member,
# namespace hash fields, search entry fields, ...} for every namespace of
# the thread.
READ_THREAD = Script(
    "read_thread",
    """
local out = {}
local ttl = tonumber(ARGV[3])
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local hk, ek = ARGV[1] .. m, ARGV[2] .. m
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGETALL', hk)
  out[#out + 1] = redis.call('HGETALL', ek)
  if ttl > 0 then
    redis.call('PEXPIRE', hk, ttl)
    redis.call('PEXPIRE', ek, ttl)
    redis.call('PEXPIRE', hk .. ARGV[4], ttl)
  end
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return out
""",
)

# KEYS: registry set. ARGV: namespace hash key base, search entry key base,
# rollback base suffix. For every namespace: drop the writes of any
# checkpoint but the stored one and the rollback base, and drop namespaces
# that hold writes but no checkpoint.
PRUNE_KEEP_LATEST = Script(
    "prune_keep_latest",
    _WRITE_ID
    + """
local removed = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local hk, ek = ARGV[1] .. m, ARGV[2] .. m
  local id = redis.call('HGET', hk, 'id')
  removed = removed + redis.call('DEL', hk .. ARGV[3])
  if not id then
    removed = removed + redis.call('DEL', hk, ek)
    redis.call('SREM', KEYS[1], m)
  else
    local stale = {}
    for _, f in ipairs(redis.call('HKEYS', hk)) do
      local wid = write_id(f)
      if wid and wid ~= id then stale[#stale + 1] = f end
    end
    for i = 1, #stale, 1000 do
      removed = removed + redis.call(
        'HDEL', hk, unpack(stale, i, math.min(i + 999, #stale)))
    end
  end
end
if redis.call('SCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return removed
""",
)

# KEYS: target registry set. ARGV: namespace hash key base, search entry key
# base, ttl_ms (0: none), rollback base suffix, then per namespace: member,
# n, n namespace hash field/value items, m, m search entry field/value items.
# Replaces the whole target thread (its rollback bases are dropped).
WRITE_THREAD = Script(
    "write_thread",
    """
for _, m in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('DEL', ARGV[1] .. m, ARGV[2] .. m, ARGV[1] .. m .. ARGV[4])
end
redis.call('DEL', KEYS[1])
local ttl = tonumber(ARGV[3])
local i = 5
while i <= #ARGV do
  local m = ARGV[i]
  local targets = {ARGV[1] .. m, ARGV[2] .. m}
  i = i + 1
  for t = 1, 2 do
    local n = tonumber(ARGV[i])
    for j = i + 1, i + n, 1000 do
      redis.call('HSET', targets[t], unpack(ARGV, j, math.min(j + 999, i + n)))
    end
    if n > 0 and ttl > 0 then redis.call('PEXPIRE', targets[t], ttl) end
    i = i + n + 1
  end
  redis.call('SADD', KEYS[1], m)
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 0
""",
)

# KEYS: namespace hash, search entry, registry set, rollback base. ARGV:
# mode ("check" or "delete"), ns member, then run tokens. Returns 0 if the
# entry's checkpoint is of none of these runs; 1 if it is of one that wrote
# everything the namespace holds (its "solo"), after deleting the namespace
# (hash, entry, base) in mode "delete"; 3 if the rollback base holds the
# checkpoint of another run, after restoring it in mode "delete" (the base
# becomes the namespace hash, its e:* fields the entry's); 2 if neither (no
# base to go back to: nothing is done).
DELETE_IF_TOKEN = Script(
    "delete_if_token",
    """
local entry = redis.call('HMGET', KEYS[2], 'mt', 'solo')
local mt, solo = entry[1], entry[2]
if not mt then return 0 end
mt = ' ' .. mt .. ' '
for i = 3, #ARGV do
  local run = ARGV[i]
  if string.find(mt, ' ' .. run .. ' ', 1, true) then
    if solo == run then
      if ARGV[1] == 'delete' then
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
        redis.call('SREM', KEYS[3], ARGV[2])
        if redis.call('SCARD', KEYS[3]) == 0 then redis.call('DEL', KEYS[3]) end
      end
      return 1
    end
    local base = redis.call('HMGET', KEYS[4], 'id', 'e:run', 'e:mt', 'e:solo')
    if not base[1] or base[2] == run then return 2 end
    if ARGV[1] == 'delete' then
      redis.call('RENAME', KEYS[4], KEYS[1])
      redis.call('HDEL', KEYS[1], 'e:run', 'e:mt', 'e:solo')
      redis.call('HSET', KEYS[2], 'id', base[1], 'mt', base[3], 'solo', base[4],
        'run', base[2])
    end
    return 3
  end
end
return 0
""",
)

ALL = (
    PUT,
    PUT_WRITES,
    READ_THREAD,
    DELETE_THREAD,
    PRUNE_KEEP_LATEST,
    WRITE_THREAD,
    DELETE_IF_TOKEN,
)
"""Every script, for ``setup`` to load."""
