"""The Lua scripts that make each write one atomic round trip.

Each script touches only keys of one thread, which share a cluster hash
slot (see :mod:`.keys`). The scripts that build keys at run time from a
thread's registry (delete, read, prune, write a whole thread) also declare
the thread's guard key, which never exists, so that Redis refuses them
(``TRYAGAIN``) while the thread's slot is being migrated between cluster
nodes instead of running them on half the thread's keys.

Scripts run with EVALSHA; ``setup`` loads them, and a server that lost its
script cache (restart, ``SCRIPT FLUSH``) gets the source once through EVAL
(see ``Script`` below).
"""

from __future__ import annotations

import hashlib

__all__ = [
    "ALL",
    "DELETE_IF_TOKEN",
    "DELETE_THREAD",
    "DUMP_THREAD",
    "PRUNE_KEEP_LATEST",
    "PUT",
    "PUT_DELETED",
    "PUT_DELTA",
    "PUT_WRITES",
    "READ_CHECKPOINT",
    "READ_THREAD",
    "READ_WINDOW",
    "UPGRADE_LAYOUT",
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

# Shared by the scripts that compare checkpoint ids: bytewise x < y (Lua's <
# follows the locale); LangGraph's ids are time-ordered.
_OLDER = """
local function older(x, y)
  for i = 1, math.min(#x, #y) do
    local p, q = string.byte(x, i), string.byte(y, i)
    if p ~= q then return p < q end
  end
  return #x < #y
end
"""

# Shared by the scripts that delete checkpoints: ``bury`` records ``id`` in
# the thread's tombstone (see ``Keys.tombstone``), which keeps the newest
# id any deletion removed and lives ``ttl`` ms from the last deletion.
_BURY = """
local function bury(key, id, ttl)
  local w = redis.call('GET', key)
  if w and older(id, w) then id = w end
  redis.call('SET', key, id, 'PX', ttl)
end
"""

# Shared by the scripts that keep delta history (see ``layout``): the
# channel of a write record (big-endian lengths: task path, then channel),
# and the channel key ``<bytes>:<name>`` of a delta field ``d[hsw]<key>...``.
_DELTA = """
local function be32(s, i)
  local p, q, r, t = string.byte(s, i, i + 3)
  return ((p * 256 + q) * 256 + r) * 256 + t
end
local function record_channel(rec)
  local pos = 5 + be32(rec, 1)
  return string.sub(rec, pos + 4, pos + 3 + be32(rec, pos))
end
local function delta_key(f)
  local len = string.match(f, '^d[hsw](%d+):')
  if not len then return nil end
  return string.sub(f, 3, 3 + #len + tonumber(len))
end
local function is_empty(key, f)  -- the value field holds the empty blob
  return redis.call('HSTRLEN', key, f) == 6 and
    redis.call('HGET', key, f) == 'empty\0'
end
"""

# Shared by the scripts that go through a thread's namespaces: the members
# of its registry, plus the root namespace ("", whose key is the namespace
# key prefix itself) when the registry lacks it. A registry can be gone while
# the thread's hashes stay (evicted under maxmemory, see docs/reliability.md);
# the root namespace, which every LangGraph thread has, is then still found.
_MEMBERS = """
local function members(reg)
  local ms = redis.call('SMEMBERS', reg)
  for _, m in ipairs(ms) do
    if m == '' then return ms end
  end
  ms[#ms + 1] = ''
  return ms
end
"""

# Shared by the scripts that keep a history window (keep_last above 1, see
# ``layout``): the history hash holds, per checkpoint older than the newest,
# c:<id> (body) and m:<id> (metadata), the values that only such checkpoints
# refer to and their writes, and one index field "w": per checkpoint, newest
# first, its id, its parent's id (empty once the parent left the window),
# the value fields it refers to and its write fields, each "<len>:<bytes>"
# (the lists packed the same way inside). ``index`` reads it, ``save``
# writes it; ``forget`` drops checkpoints with their bodies and writes, and
# the values that no checkpoint left refers to (nor ``top``, the newest's).
_HISTORY = """
local function take(s, i)
  local colon = string.find(s, ':', i, true)
  local n = tonumber(string.sub(s, i, colon - 1))
  return string.sub(s, colon + 1, colon + n), colon + n + 1
end
local function unpacked(s)
  local out, i = {}, 1
  while s and i <= #s do out[#out + 1], i = take(s, i) end
  return out
end
local function packed(list)
  local parts = {}
  for _, x in ipairs(list) do parts[#parts + 1] = #x .. ':' .. x end
  return table.concat(parts)
end
local function index(h)
  local s, out, i = redis.call('HGET', h, 'w') or '', {}, 1
  while i <= #s do
    local e = {}
    e.id, i = take(s, i)
    e.parent, i = take(s, i)
    e.refs, i = take(s, i)
    e.writes, i = take(s, i)
    out[#out + 1] = e
  end
  return out
end
local function save(h, entries)
  local parts = {}
  for _, e in ipairs(entries) do
    parts[#parts + 1] = packed({e.id, e.parent, e.refs, e.writes})
  end
  if #parts > 0 then redis.call('HSET', h, 'w', table.concat(parts))
  else redis.call('HDEL', h, 'w') end
end
local function forget(h, entries, gone, top)
  local kept, used, del = {}, {}, {}
  for _, e in ipairs(entries) do
    if not gone[e.id] then
      kept[#kept + 1] = e
      if gone[e.parent] then e.parent = '' end
      for _, v in ipairs(unpacked(e.refs)) do used[v] = true end
    end
  end
  for _, e in ipairs(entries) do
    if gone[e.id] then
      del[#del + 1] = 'c:' .. e.id
      del[#del + 1] = 'm:' .. e.id
      for _, f in ipairs(unpacked(e.writes)) do del[#del + 1] = f end
      for _, v in ipairs(unpacked(e.refs)) do
        if not used[v] then del[#del + 1] = v end
      end
    end
  end
  for v in pairs(top) do
    if used[v] then del[#del + 1] = v end
  end
  for i = 1, #del, 1000 do
    redis.call('HDEL', h, unpack(del, i, math.min(i + 999, #del)))
  end
  save(h, kept)
  return kept
end
"""

# KEYS: namespace hash, search entry, registry set, rollback base, tombstone,
#       history hash.
# ARGV: ttl_ms, ns member, keep prefix (new id), keep prefix (parent id) or "",
#       entry flag ("1": write the search entry), metadata tokens, run token,
#       keep_last, n required fields, required fields..., n delta channels, for each:
#       name, value field prefix, its value field here, "s" (sent, empty) or
#       "r" (required), then field/value pairs.
# Refuses, writing nothing, in three cases. The namespace holds a checkpoint
# that is neither the new one nor its parent (the caller started from a
# checkpoint that is no longer stored), or, for a checkpoint without a
# parent, that is newer than the new one (the first checkpoint of a run
# that started on an empty thread, arriving after another run wrote):
# returns {1, stored id}. The
# namespace holds no checkpoint and the parent is not newer than the
# thread's tombstone (a late put of a deleted thread): returns {2, tombstone},
# raises the tombstone to the new id (its descendants are refused too) and
# drops the new checkpoint's writes that came ahead of it. A channel
# value the checkpoint refers to but does not send is not stored: returns
# the missing fields, and the saver sends those values too. Otherwise
# replaces the checkpoint's fields with exactly the sent and required ones
# and drops the writes of every checkpoint whose id is older than the new
# one (bytewise; LangGraph's ids are time-ordered), except the parent's.
# Writes of newer ids stay: with "async" durability the next step's writes
# can arrive before this put. The entry's "solo" keeps the run token while
# every checkpoint of the namespace came from that one run, and "run" is the
# run token of the stored checkpoint; the namespace hash holds both as well
# (fields "run", "solo"), and the scripts read them from there: a hash and
# its entry are separate keys, which eviction can remove apart. When a run
# starts writing over another
# run's checkpoint, the namespace hash as it was (with that checkpoint's
# entry fields as e:run, e:mt, e:solo) is first copied to the rollback base,
# which delete_for_runs restores.
# Delta history (only for the delta channels with no value here, and only
# when the new checkpoint is the stored one's child): a dropped value field
# of such a channel that held a value becomes its seed (ds<key>, with the
# stored id in dh<key>) and its older history goes; the dropped writes to
# such a channel not older than its seed move to dw<key>:<write field>.
# Every other delta field goes, and all of them when the new checkpoint
# has no parent here.
# History window (keep_last K above 1): a parent in the history is as good
# as the stored checkpoint (a fork); a required value may be in the history
# (it moves to the namespace hash, which holds exactly the newest's values).
# A new checkpoint moves the stored one into the history (body, metadata,
# parent, the value fields it refers to), keeps the K newest checkpoints
# (by id, the new one always), moves the values and the writes that only
# the others need into the history, and drops the rest (see ``trim``). The
# "parent" field names a parent only while it is in the window. With K = 1,
# or no stored checkpoint, the history hash goes.
PUT_DELETED = 2
"""First item of :data:`PUT`'s reply when it refuses a late put of a deleted
thread (``{2, tombstone}``; ``{1, stored id}`` is a stale parent)."""

PUT = Script(
    "put",
    _WRITE_ID
    + _OLDER
    + _DELTA
    + _HISTORY
    + """
local a, b = ARGV[3], ARGV[4]
local nb = #b
local newid = string.sub(a, string.find(a, ':', 1, true) + 1)
local parentid = nb > 0 and string.sub(b, string.find(b, ':', 1, true) + 1)
local K = tonumber(ARGV[8])
local cur = redis.call('HGET', KEYS[1], 'id')
if cur and cur ~= newid then
  if nb > 0 and parentid ~= cur and not (K > 1 and
      redis.call('HEXISTS', KEYS[6], 'c:' .. parentid) == 1) then
    return {1, cur}
  end
  if nb == 0 and older(newid, cur) then
    return {1, cur}  -- a run's first checkpoint, late: older than the stored
  end
  if K > 1 and redis.call('HEXISTS', KEYS[6], 'c:' .. newid) == 1 then
    return {1, cur}  -- a checkpoint of the window again: it stays as it is
  end
end
if not cur and nb > 0 then
  local w = redis.call('GET', KEYS[5])
  if w and not older(w, string.sub(b, string.find(b, ':', 1, true) + 1)) then
    if older(w, newid) then redis.call('SET', KEYS[5], newid, 'KEEPTTL') end
    for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
      if string.sub(f, 1, #a) == a then redis.call('HDEL', KEYS[1], f) end
    end
    if redis.call('EXISTS', KEYS[1]) == 0 then
      redis.call('SREM', KEYS[3], ARGV[2])
    end
    return {2, w}
  end
end
local nreq = tonumber(ARGV[9])
local keep = {}
local missing, pull = {}, {}
for i = 10, 9 + nreq do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
    if K > 1 and redis.call('HEXISTS', KEYS[6], ARGV[i]) == 1 then
      pull[#pull + 1] = ARGV[i]
    else
      missing[#missing + 1] = ARGV[i]
    end
  end
  keep[ARGV[i]] = true
end
if #missing > 0 then
  return missing
end
local fd = 10 + nreq
local first = fd + 1 + 4 * tonumber(ARGV[fd])
for i = first, #ARGV, 2 do
  keep[ARGV[i]] = true
end
local child = cur and nb > 0 and cur ~= newid
local hist, byname, prefixes = {}, {}, {}
local anyhist = false
if child then
  for i = fd + 1, first - 1, 4 do
    if ARGV[i + 3] == 's' or is_empty(KEYS[1], ARGV[i + 2]) then
      local k = #ARGV[i] .. ':' .. ARGV[i]
      hist[k] = true
      byname[ARGV[i]] = k
      prefixes[#prefixes + 1] = {ARGV[i + 1], k}
      anyhist = true
    end
  end
end
local prun, pmt, psolo
if ARGV[5] == '1' and cur then
  -- the stored checkpoint's run and solo: from the hash itself, so that an
  -- evicted entry cannot make a run look new; the entry's for hashes
  -- written before the hash held them
  local e = redis.call('HMGET', KEYS[2], 'run', 'mt', 'solo')
  local h = redis.call('HMGET', KEYS[1], 'run', 'solo')
  prun, pmt, psolo = e[1], e[2], e[3]
  if h[1] then prun, psolo = h[1], h[2] end
  if prun ~= ARGV[7] then
    redis.call('COPY', KEYS[1], KEYS[4], 'REPLACE')
    redis.call('HSET', KEYS[4], 'e:run', prun or '', 'e:mt', pmt or '',
      'e:solo', psolo or '')
  end
end
for _, f in ipairs(pull) do
  redis.call('HSET', KEYS[1], f, redis.call('HGET', KEYS[6], f))
end
local window, entries = {}, nil  -- the history after this put, by id
local orphan = false  -- the new checkpoint's parent left the window
if K <= 1 or not cur then
  -- look first: any write (a DEL of nothing too) would lift the OOM check
  -- from the rest of the script (docs/reliability.md, "Why it holds")
  if redis.call('PTTL', KEYS[6]) ~= -2 then redis.call('DEL', KEYS[6]) end
elseif cur ~= newid then
  local refs, moved = {}, {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'v:' then
      refs[#refs + 1] = f
      if not keep[f] then moved[#moved + 1] = f end
    end
  end
  redis.call('HSET', KEYS[6], 'c:' .. cur, redis.call('HGET', KEYS[1], 'cp'),
    'm:' .. cur, redis.call('HGET', KEYS[1], 'meta'))
  for _, v in ipairs(moved) do
    redis.call('HSET', KEYS[6], v, redis.call('HGET', KEYS[1], v))
  end
  entries = index(KEYS[6])
  table.insert(entries, 1, {id = cur, parent = redis.call('HGET', KEYS[1],
    'parent') or '', refs = packed(refs), writes = ''})
  if entries[2] and older(cur, entries[2].id) then
    -- hand-made ids that do not grow with time: the index is kept newest
    -- first, and the stored checkpoint is usually the newest of it
    table.sort(entries, function(x, y) return older(y.id, x.id) end)
  end
  local gone, top = {}, {}
  for i, e in ipairs(entries) do
    if i < K and e.id ~= newid then window[e.id] = e else gone[e.id] = true end
  end
  for _, f in ipairs(pull) do top[f] = true end
  entries = forget(KEYS[6], entries, gone, top)
  orphan = nb > 0 and gone[parentid]
end
local stale = {}
local dfields, dropped = {}, {}
local reseed = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  local id = write_id(f)
  if id then
    if older(id, newid) and
        (window[id] or nb == 0 or string.sub(f, 1, nb) ~= b) then
      stale[#stale + 1] = f  -- the window's writes move to the history
      local e = window[id]
      if e then
        redis.call('HSET', KEYS[6], f, redis.call('HGET', KEYS[1], f))
        e.writes = e.writes .. #f .. ':' .. f
      end
      if anyhist then dropped[#dropped + 1] = {f, id} end
    end
  elseif string.byte(f, 1) == 100 then  -- 'd': delta history
    dfields[#dfields + 1] = f
  elseif not keep[f] then
    stale[#stale + 1] = f
    if anyhist then
      for _, p in ipairs(prefixes) do
        if string.sub(f, 1, #p[1]) == p[1] and not is_empty(KEYS[1], f) then
          reseed[p[2]] = redis.call('HGET', KEYS[1], f)
        end
      end
    end
  end
end
local seedid = {}
for _, f in ipairs(dfields) do
  local k = delta_key(f)
  if cur == newid then
    k = nil  -- the same checkpoint again: its history stays
  elseif not child or not k or not hist[k] or reseed[k] then
    stale[#stale + 1] = f
  elseif string.sub(f, 1, 2) == 'dh' then
    seedid[k] = redis.call('HGET', KEYS[1], f)
  end
end
local moves = {}
for _, w in ipairs(dropped) do
  local rec = redis.call('HGET', KEYS[1], w[1])
  local k = byname[record_channel(rec)]
  if k and not reseed[k] and not older(w[2], seedid[k] or '') then
    moves[#moves + 1] = 'dw' .. k .. ':' .. w[1]
    moves[#moves + 1] = rec
  end
end
for i = 1, #stale, 1000 do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 999, #stale)))
end
if entries then save(KEYS[6], entries) end
for k in pairs(hist) do
  if reseed[k] then
    redis.call('HSET', KEYS[1], 'ds' .. k, reseed[k], 'dh' .. k, cur)
  elseif not seedid[k] then
    redis.call('HSET', KEYS[1], 'dh' .. k, '')
  end
end
for i = 1, #moves, 1000 do
  redis.call('HSET', KEYS[1], unpack(moves, i, math.min(i + 999, #moves)))
end
for i = first, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if orphan then redis.call('HDEL', KEYS[1], 'parent') end
if ARGV[5] == '1' then
  local solo = ARGV[7]
  if cur and psolo ~= solo then solo = '' end
  redis.call('HSET', KEYS[2], 'id', newid, 'mt', ARGV[6], 'solo', solo,
    'run', ARGV[7])
  redis.call('HSET', KEYS[1], 'run', ARGV[7], 'solo', solo)
end
redis.call('SADD', KEYS[3], ARGV[2])
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('PEXPIRE', KEYS[4], ttl)
  redis.call('PEXPIRE', KEYS[6], ttl)
elseif not cur then
  -- writes that came ahead of this first checkpoint may carry the expiry
  -- of a tombstone (see PUT_WRITES): they are the thread's now
  redis.call('PERSIST', KEYS[1])
end
return 0
""",
)

# KEYS: namespace hash, registry set, search entry, tombstone, history hash.
# ARGV: ttl_ms, ns member, checkpoint id, then (mode, field, record)
# triples; mode "n" inserts if absent, "s" overwrites. The writes of a
# checkpoint of the history window go to the history hash. While the thread has
# a tombstone, writes for a checkpoint the namespace does not hold are
# refused (returns 1, writes nothing) if its id is not newer than the
# tombstone (a deleted checkpoint). Newer ones to a namespace that holds no
# checkpoint may be a late run's early writes as well as a new run's: they
# are kept out of the registry and expire with the tombstone, unless their
# checkpoint's put comes (it makes them the thread's, see PUT).
PUT_WRITES = Script(
    "put_writes",
    _OLDER
    + _HISTORY
    + """
local ttl = tonumber(ARGV[1])
local w = redis.call('GET', KEYS[4])
local orphan = false
local id = redis.call('HGET', KEYS[1], 'id')
local target = KEYS[1]
if id ~= ARGV[3] then
  if redis.call('HEXISTS', KEYS[5], 'c:' .. ARGV[3]) == 1 then
    target = KEYS[5]
    local entries = index(KEYS[5])
    for _, e in ipairs(entries) do
      if e.id == ARGV[3] then
        local known = {}
        for _, f in ipairs(unpacked(e.writes)) do known[f] = true end
        for i = 4, #ARGV, 3 do
          if not known[ARGV[i + 1]] then
            e.writes = e.writes .. #ARGV[i + 1] .. ':' .. ARGV[i + 1]
            known[ARGV[i + 1]] = true
          end
        end
      end
    end
    save(KEYS[5], entries)
  elseif w then
    if not older(w, ARGV[3]) then return 1 end
    orphan = not id
  end
end
for i = 4, #ARGV, 3 do
  if ARGV[i] == 'n' then
    redis.call('HSETNX', target, ARGV[i + 1], ARGV[i + 2])
  else
    redis.call('HSET', target, ARGV[i + 1], ARGV[i + 2])
  end
end
if orphan then
  local left = redis.call('PTTL', KEYS[4])
  if ttl > 0 and (left <= 0 or ttl < left) then left = ttl end
  if left > 0 then redis.call('PEXPIRE', KEYS[1], left) end
  return 0
end
redis.call('SADD', KEYS[2], ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  redis.call('PEXPIRE', KEYS[5], ttl)
end
return 0
""",
)

# KEYS: registry set, guard (never exists, see above), tombstone. ARGV:
# namespace hash key prefix, search entry key prefix, rollback base suffix,
# tombstone ttl_ms, history suffix. Deletes every namespace's hash, entry,
# rollback base and history (the root namespace's even when the registry
# lacks it), and the registry;
# buries the newest checkpoint id it removed (none: no tombstone); returns
# how many keys it removed.
DELETE_THREAD = Script(
    "delete_thread",
    _MEMBERS
    + _OLDER
    + _BURY
    + """
local n, newest = 0, nil
for _, m in ipairs(members(KEYS[1])) do
  local id = redis.call('HGET', ARGV[1] .. m, 'id')
  if id and (not newest or older(newest, id)) then newest = id end
  n = n + redis.call('DEL', ARGV[1] .. m, ARGV[2] .. m, ARGV[1] .. m .. ARGV[3],
    ARGV[1] .. m .. ARGV[5])
end
if newest then bury(KEYS[3], newest, ARGV[4]) end
return n + redis.call('DEL', KEYS[1])
""",
)

# KEYS: registry set, guard (never exists, see above), tombstone (unused).
# ARGV: namespace hash key prefix, search entry key prefix,
# ttl_ms to refresh (0: none), rollback base suffix, history suffix. Returns
# {member, namespace hash fields, search entry fields, history fields, ...}
# for every namespace of the thread whose hash exists (a registry member or
# search entry whose hash is gone, expired or evicted, is left out).
READ_THREAD = Script(
    "read_thread",
    _MEMBERS
    + """
local out = {}
local ttl = tonumber(ARGV[3])
for _, m in ipairs(members(KEYS[1])) do
  local hk, ek = ARGV[1] .. m, ARGV[2] .. m
  local fields = redis.call('HGETALL', hk)
  if #fields > 0 then
    out[#out + 1] = m
    out[#out + 1] = fields
    out[#out + 1] = redis.call('HGETALL', ek)
    out[#out + 1] = redis.call('HGETALL', hk .. ARGV[5])
  end
  if ttl > 0 then
    redis.call('PEXPIRE', hk, ttl)
    redis.call('PEXPIRE', ek, ttl)
    redis.call('PEXPIRE', hk .. ARGV[4], ttl)
    redis.call('PEXPIRE', hk .. ARGV[5], ttl)
  end
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return out
""",
)

# KEYS: registry set, guard (never exists, see above), tombstone (unused).
# ARGV: namespace hash key prefix, search entry key prefix,
# rollback base suffix, tombstone ttl_ms (unused), history suffix. For every
# namespace: drop the writes of any checkpoint but the stored one, the
# rollback base and the history window (and the stored one's link to its
# parent, which leaves the window), and drop namespaces that hold writes
# but no checkpoint. Writes of older checkpoints to a
# channel with delta history (a dh<key> field) that are not older than its
# seed are part of that history: they move to dw<key>:<write field>.
PRUNE_KEEP_LATEST = Script(
    "prune_keep_latest",
    _WRITE_ID
    + _OLDER
    + _DELTA
    + _MEMBERS
    + """
local removed = 0
for _, m in ipairs(members(KEYS[1])) do
  local hk, ek = ARGV[1] .. m, ARGV[2] .. m
  local id = redis.call('HGET', hk, 'id')
  removed = removed + redis.call('DEL', hk .. ARGV[3], hk .. ARGV[5])
  redis.call('HDEL', hk, 'parent')
  if not id then
    removed = removed + redis.call('DEL', hk, ek)
    redis.call('SREM', KEYS[1], m)
  else
    local stale, older_writes, seedid = {}, {}, {}
    local anyhist = false
    for _, f in ipairs(redis.call('HKEYS', hk)) do
      local wid = write_id(f)
      if wid and wid ~= id then
        stale[#stale + 1] = f
        if older(wid, id) then older_writes[#older_writes + 1] = {f, wid} end
      elseif string.sub(f, 1, 2) == 'dh' then
        seedid[delta_key(f)] = redis.call('HGET', hk, f)
        anyhist = true
      end
    end
    if anyhist then
      for _, w in ipairs(older_writes) do
        local rec = redis.call('HGET', hk, w[1])
        local ch = record_channel(rec)
        local sid = seedid[#ch .. ':' .. ch]
        if sid and not older(w[2], sid) then
          redis.call('HSET', hk, 'dw' .. #ch .. ':' .. ch .. ':' .. w[1], rec)
          removed = removed - 1
        end
      end
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

# KEYS: target registry set, guard (never exists, see above), target
# tombstone (removed: the thread is written anew on purpose). ARGV:
# namespace hash key prefix, search entry key prefix, ttl_ms (0: none), rollback
# base suffix, history suffix, then per namespace: member and four
# field/value lists, each as its length n and n items: the namespace hash,
# the search entry, the rollback base, the history (empty lists write
# nothing). Replaces the whole target thread (its old namespaces, entries,
# rollback bases and histories are dropped first).
WRITE_THREAD = Script(
    "write_thread",
    _MEMBERS
    + """
for _, m in ipairs(members(KEYS[1])) do
  redis.call('DEL', ARGV[1] .. m, ARGV[2] .. m, ARGV[1] .. m .. ARGV[4],
    ARGV[1] .. m .. ARGV[5])
end
redis.call('DEL', KEYS[1], KEYS[3])
local ttl = tonumber(ARGV[3])
local i = 6
while i <= #ARGV do
  local m = ARGV[i]
  local targets = {ARGV[1] .. m, ARGV[2] .. m, ARGV[1] .. m .. ARGV[4],
    ARGV[1] .. m .. ARGV[5]}
  i = i + 1
  for t = 1, 4 do
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

# KEYS: registry set, guard (never exists, see above), tombstone (unused).
# ARGV: namespace hash
# key prefix, search entry key prefix, rollback base suffix, history suffix.
# Returns {member, namespace hash fields, search entry fields, rollback base
# fields, history fields, ...} for
# every namespace of the thread that holds a hash or a base (the root
# namespace even if its registry entry is gone), as stored, seen at one
# instant (for backups; reads refresh no TTL).
DUMP_THREAD = Script(
    "dump_thread",
    _MEMBERS
    + """
local out = {}
for _, m in ipairs(members(KEYS[1])) do
  local hk = ARGV[1] .. m
  local fields = redis.call('HGETALL', hk)
  local base = redis.call('HGETALL', hk .. ARGV[3])
  if #fields > 0 or #base > 0 then
    out[#out + 1] = m
    out[#out + 1] = fields
    out[#out + 1] = redis.call('HGETALL', ARGV[2] .. m)
    out[#out + 1] = base
    out[#out + 1] = redis.call('HGETALL', hk .. ARGV[4])
  end
end
return out
""",
)

# KEYS: namespace hash, search entry, registry set, rollback base, tombstone, history
# hash. ARGV: mode ("check" or "delete"), ns member, tombstone ttl_ms, then run tokens.
# Returns 0 if the entry's checkpoint is of none of these runs; 1 if it is of one that
# wrote everything the namespace holds (its "solo"), after deleting the namespace (hash,
# entry, base) and burying its checkpoint id in mode "delete"; 3 if the rollback base
# holds the checkpoint of another run, after restoring it in mode "delete" (the base
# becomes the namespace hash, its e:* fields the entry's); 2 if neither (no base to go
# back to: nothing is done). A namespace whose hash is gone and has no base of another
# run counts as 1: its entry (and base) are deleted. The history goes with the
# namespace; on a restore, the checkpoints of the history not older than the restored
# one go (the run wrote them, or the restored one is among them).
DELETE_IF_TOKEN = Script(
    "delete_if_token",
    _WRITE_ID
    + _OLDER
    + _BURY
    + _HISTORY
    + """
local entry = redis.call('HMGET', KEYS[2], 'mt', 'solo')
local mt, solo = entry[1], entry[2]
if not mt then return 0 end
solo = redis.call('HGET', KEYS[1], 'solo') or solo
mt = ' ' .. mt .. ' '
for i = 4, #ARGV do
  local run = ARGV[i]
  if string.find(mt, ' ' .. run .. ' ', 1, true) then
    if solo == run then
      if ARGV[1] == 'delete' then
        local id = redis.call('HGET', KEYS[1], 'id')
        if id then bury(KEYS[5], id, ARGV[3]) end
        redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[6])
        redis.call('SREM', KEYS[3], ARGV[2])
        if redis.call('SCARD', KEYS[3]) == 0 then redis.call('DEL', KEYS[3]) end
      end
      return 1
    end
    local base = redis.call('HMGET', KEYS[4], 'id', 'e:run', 'e:mt', 'e:solo')
    if not base[1] or base[2] == run then
      if redis.call('EXISTS', KEYS[1]) == 1 then return 2 end
      -- the namespace hash is gone (expired, evicted): nothing is left to
      -- lose, only the entry (and base) pointing at it
      if ARGV[1] == 'delete' then
        redis.call('DEL', KEYS[2], KEYS[4], KEYS[6])
        redis.call('SREM', KEYS[3], ARGV[2])
        if redis.call('SCARD', KEYS[3]) == 0 then redis.call('DEL', KEYS[3]) end
      end
      return 1
    end
    if ARGV[1] == 'delete' then
      redis.call('RENAME', KEYS[4], KEYS[1])
      redis.call('HDEL', KEYS[1], 'e:run', 'e:mt', 'e:solo')
      redis.call('HSET', KEYS[1], 'run', base[2], 'solo', base[4])
      redis.call('HSET', KEYS[2], 'id', base[1], 'mt', base[3], 'solo', base[4],
        'run', base[2])
      local gone, top, held = {}, {}, {}
      local entries = index(KEYS[6])
      for _, e in ipairs(entries) do
        if not older(e.id, base[1]) then gone[e.id] = true end
      end
      for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do top[f] = true end
      for _, e in ipairs(forget(KEYS[6], entries, gone, top)) do
        held[e.id] = true
      end
      local parent = redis.call('HGET', KEYS[1], 'parent')
      if parent and not held[parent] then
        redis.call('HDEL', KEYS[1], 'parent')
      end
    end
    return 3
  end
end
return 0
""",
)

# KEYS: namespace hash, history hash, then the keys whose TTL a read
# refreshes (search entry, registry, rollback base). ARGV: checkpoint id,
# ttl_ms to refresh (0: none). Returns a checkpoint of the history window
# as a namespace hash would hold it (id, cp, meta, parent, its value fields
# and its writes, flat); the namespace hash itself if the history does not
# hold that id.
READ_CHECKPOINT = Script(
    "read_checkpoint",
    _WRITE_ID
    + _OLDER
    + _HISTORY
    + """
local id = ARGV[1]
local h = KEYS[2]
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local entry
if redis.call('HGET', KEYS[1], 'id') ~= id then
  for _, e in ipairs(index(h)) do
    if e.id == id then entry = e end
  end
end
if not entry then return redis.call('HGETALL', KEYS[1]) end
local out = {'id', id, 'cp', redis.call('HGET', h, 'c:' .. id),
  'meta', redis.call('HGET', h, 'm:' .. id)}
if entry.parent ~= '' then
  out[#out + 1] = 'parent'
  out[#out + 1] = entry.parent
end
for _, f in ipairs(unpacked(entry.refs)) do
  local v = redis.call('HGET', h, f) or redis.call('HGET', KEYS[1], f)
  if v then out[#out + 1] = f; out[#out + 1] = v end
end
for _, f in ipairs(unpacked(entry.writes)) do
  out[#out + 1] = f
  out[#out + 1] = redis.call('HGET', h, f)
end
return out
""",
)

# KEYS: namespace hash, history hash. ARGV: ttl_ms to refresh (0: none).
# Returns {namespace hash fields, history fields}, seen at one instant.
READ_WINDOW = Script(
    "read_window",
    """
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}
""",
)

# KEYS: namespace hash. ARGV: checkpoint id, then field/value pairs of delta
# history (copy_from). Writes them only if the hash holds that checkpoint.
PUT_DELTA = Script(
    "put_delta",
    """
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 1000 do
  redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
""",
)

# KEYS: the layout key. ARGV: a version to replace, the new version.
# Records the new version only over the given one; returns what is stored.
UPGRADE_LAYOUT = Script(
    "upgrade_layout",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
end
return redis.call('GET', KEYS[1])
""",
)

ALL = (
    PUT,
    PUT_DELTA,
    UPGRADE_LAYOUT,
    PUT_WRITES,
    READ_THREAD,
    DELETE_THREAD,
    PRUNE_KEEP_LATEST,
    WRITE_THREAD,
    DELETE_IF_TOKEN,
    DUMP_THREAD,
    READ_CHECKPOINT,
    READ_WINDOW,
)
"""Every script, for ``setup`` to load."""
