"""The Redis key scheme: one place that says where everything lives.

For a saver with ``checkpoint_prefix=CP`` and ``checkpoint_write_prefix=WP``
and a thread id ``T``, namespace ``NS``:

==============================  ======  =======================================
key                             type    holds
==============================  ======  =======================================
``CP:{t(T)}:n(NS)``             hash    everything of (T, NS): the checkpoint
                                        (its id, body, metadata, one field
                                        per channel value) and its pending
                                        writes (see :mod:`.layout`)
``CP:{t(T)}:n(NS):base``        hash    the rollback base of (T, NS): the
                                        namespace hash as it was when the
                                        latest run started writing over
                                        another run's checkpoint, with that
                                        checkpoint's entry fields (only with
                                        Search; see :mod:`.layout`)
``CP:{t(T)}:n(NS):hist``        hash    the history window of (T, NS): the
                                        checkpoints before the newest, their
                                        values and writes (only with
                                        ``keep_last`` above 1; see
                                        :mod:`.layout`)
``CP:{t(T)}``                   set     the encoded namespaces of T (registry,
                                        used by delete, list and copy)
``WP:{t(T)}:n(NS)``             hash    the search entry of (T, NS): the
                                        checkpoint id and metadata tokens,
                                        the only hash the search index covers;
                                        written only when the server has Search
``CP:{t(T)}:!``                  none    the slot guard of T: never written
                                        (see :meth:`Keys.guard`)
``CP:{t(T)}:#deleted``          string  the tombstone of T: the newest
                                        checkpoint id a deletion removed,
                                        for a while (see
                                        :meth:`Keys.tombstone`)
``CP:index``                    index   the RediSearch index over the
                                        ``WP:{*`` entries (only with Search;
                                        :mod:`.search`)
``CP:layout``                   string  the layout version of every key
                                        above (:data:`.layout.LAYOUT_VERSION`)
==============================  ======  =======================================

One hash per namespace makes a read one ``HGETALL``. The search entry is
apart because RediSearch re-indexes a hash on every write to it, whatever
field changes: a small entry written once per ``put`` costs the server far
less than re-indexing the namespace hash on each ``put`` and ``put_writes``.
``checkpoint_write_prefix`` keeps the name it has in
``langgraph-checkpoint-redis``, so code written for that package runs
unchanged, although pending writes no longer live under it.

``t`` and ``n`` percent-encode every UTF-8 byte outside ``[A-Za-z0-9_.~-]``
(lone surrogates included, as ``surrogatepass`` encodes them),
so ``:``, ``{``, ``}``, ``,``, ``*``, spaces and non-ASCII text cannot break
out of their slot in the key, and ids differing in any character (case
included) get different keys. ``t`` encodes the empty string as ``%`` (which
no non-empty id can produce), so that the Redis Cluster hash tag ``{...}`` is
never empty: all keys of one thread hash to one cluster slot.

Prefixes cannot contain ``{``, so in every key the text before the first
``{`` is a prefix plus ``:``: savers that use no prefix in common never
share a key, even when one prefix starts with another, and the index (which
covers ``WP:{``) sees only its own saver's entries.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

__all__ = [
    "BASE_SUFFIX",
    "DEFAULT_CHECKPOINT_PREFIX",
    "DEFAULT_WRITE_PREFIX",
    "HISTORY_SUFFIX",
    "Keys",
    "decode_namespace",
    "encode_namespace",
    "encode_thread",
    "glob_escape",
    "validate_prefixes",
]

DEFAULT_CHECKPOINT_PREFIX = "lgshallow:cp"
"""Default ``checkpoint_prefix``; distinct from every key of
``langgraph-checkpoint-redis`` (which uses ``checkpoint*`` and
``write_keys_zset``)."""

BASE_SUFFIX = ":base"
"""Suffix of a namespace hash key that names its rollback base (encoded
namespaces never contain ``:``, so no namespace hash has this suffix)."""

HISTORY_SUFFIX = ":hist"
"""Suffix of a namespace hash key that names its history window hash
(see :data:`BASE_SUFFIX` for why it cannot be a namespace's)."""

DEFAULT_WRITE_PREFIX = "lgshallow:w"
"""Default ``checkpoint_write_prefix`` (the prefix of the search entries)."""


def encode_thread(thread_id: str) -> str:
    """Encode a thread id for the cluster hash tag (never empty)."""
    return quote(thread_id, safe="", errors="surrogatepass") or "%"


def encode_namespace(checkpoint_ns: str) -> str:
    """Encode a checkpoint namespace for use as the last key segment."""
    return quote(checkpoint_ns, safe="", errors="surrogatepass")


def decode_namespace(encoded: str | bytes) -> str:
    """Invert :func:`encode_namespace`."""
    if isinstance(encoded, bytes):
        encoded = encoded.decode()
    return unquote(encoded, errors="surrogatepass")


def validate_prefixes(checkpoint_prefix: object, write_prefix: object) -> None:
    """Raise ``InvalidConfigError`` unless both prefixes are usable.

    A prefix must be a non-empty string without ``{``, ``}`` or whitespace
    (braces would change the cluster hash tag) and neither prefix's key
    space may contain the other's.
    """
    from .errors import InvalidConfigError

    for name, value in (
        ("checkpoint_prefix", checkpoint_prefix),
        ("checkpoint_write_prefix", write_prefix),
    ):
        if not isinstance(value, str) or not value:
            raise InvalidConfigError(
                f"{name} must be a non-empty string, got {value!r}"
            )
        bad = [c for c in value if c in "{}" or c.isspace()]
        if bad:
            raise InvalidConfigError(
                f"{name} {value!r} contains {bad[0]!r}; braces and whitespace "
                "are not allowed in key prefixes"
            )
    assert isinstance(checkpoint_prefix, str) and isinstance(write_prefix, str)
    a, b = checkpoint_prefix + ":", write_prefix + ":"
    if a.startswith(b) or b.startswith(a):
        raise InvalidConfigError(
            f"checkpoint_prefix {checkpoint_prefix!r} and checkpoint_write_prefix "
            f"{write_prefix!r} overlap; choose prefixes where neither key space "
            "contains the other"
        )


def glob_escape(text: str) -> str:
    """``text`` with Redis glob characters escaped, for ``SCAN MATCH``."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class Keys:
    """Builds the keys of one saver (one pair of prefixes)."""

    __slots__ = ("checkpoint_prefix", "entry_prefix", "index_name")

    def __init__(self, checkpoint_prefix: str, write_prefix: str) -> None:
        validate_prefixes(checkpoint_prefix, write_prefix)
        self.checkpoint_prefix = checkpoint_prefix
        self.entry_prefix = write_prefix
        self.index_name = f"{checkpoint_prefix}:index"

    def thread_tag(self, thread_id: str) -> str:
        """The ``{...}`` hash tag shared by every key of the thread."""
        return "{" + encode_thread(thread_id) + "}"

    def registry(self, thread_id: str) -> str:
        """Key of the set of encoded namespaces the thread has."""
        return f"{self.checkpoint_prefix}:{self.thread_tag(thread_id)}"

    def namespace_key_prefix(self, thread_id: str) -> str:
        """Namespace hash key of the thread, minus the encoded namespace."""
        return f"{self.checkpoint_prefix}:{self.thread_tag(thread_id)}:"

    def entry_key_prefix(self, thread_id: str) -> str:
        """Search entry key of the thread, minus the encoded namespace."""
        return f"{self.entry_prefix}:{self.thread_tag(thread_id)}:"

    def thread_script_keys(self, thread_id: str) -> tuple[str, str, str]:
        """The keys a script that goes through the thread's namespaces
        declares: the registry, the :meth:`guard` and the :meth:`tombstone`."""
        return (
            self.registry(thread_id),
            self.guard(thread_id),
            self.tombstone(thread_id),
        )

    def thread_key_prefixes(self, thread_id: str) -> tuple[str, str]:
        """The namespace hash and search entry key prefixes of the thread
        (:meth:`namespace_key_prefix`, :meth:`entry_key_prefix`), which such
        a script completes with each encoded namespace."""
        return self.namespace_key_prefix(thread_id), self.entry_key_prefix(thread_id)

    def guard(self, thread_id: str) -> str:
        """A key of the thread that nothing ever writes: the scripts that
        build the keys of a thread's namespaces at run time (from its
        registry) declare it besides the registry.

        While the thread's cluster slot is being migrated, Redis runs a
        script that declares several keys only on a node that holds all of
        them, and answers ``TRYAGAIN`` (or ``ASK``, then ``TRYAGAIN``)
        otherwise. This key is never there, so such a script never runs
        during a migration, when part of the thread may already be on the
        other node; it runs once the slot has moved. ``!`` cannot occur in
        an encoded namespace, so no namespace key is ever this one.
        """
        return f"{self.checkpoint_prefix}:{self.thread_tag(thread_id)}:!"

    def tombstone(self, thread_id: str) -> str:
        """Key of the thread's tombstone, which ``delete_thread`` (and a
        rollback that deletes a namespace) leaves behind: the newest
        checkpoint id it removed, expiring after
        :data:`.layout.TOMBSTONE_TTL_MS`. While it is there, a late ``put``
        that descends from a removed checkpoint, or a late ``put_writes``
        for one, is refused with nothing stored (a cancelled run finishing
        cannot bring the thread back); a new run (no parent) is not
        affected. ``#`` cannot occur in an encoded namespace, and the key
        has the thread's hash tag, so it lives in the thread's slot.
        """
        return f"{self.checkpoint_prefix}:{self.thread_tag(thread_id)}:#deleted"

    def layout_key(self) -> str:
        """Key of the layout version (no ``{``, so no thread's key)."""
        return f"{self.checkpoint_prefix}:layout"

    def index_prefix(self) -> str:
        """The key prefix the search index covers: this saver's entries."""
        return f"{self.entry_prefix}:{{"

    def for_namespace(self, thread_id: str, checkpoint_ns: str) -> tuple[str, str, str]:
        """``(namespace hash, search entry, registry)`` keys of (thread, ns)."""
        tag = self.thread_tag(thread_id)
        ns = encode_namespace(checkpoint_ns)
        return (
            f"{self.checkpoint_prefix}:{tag}:{ns}",
            f"{self.entry_prefix}:{tag}:{ns}",
            f"{self.checkpoint_prefix}:{tag}",
        )

    def history(self, thread_id: str, checkpoint_ns: str) -> str:
        """Key of the history window hash of (thread, ns)."""
        return self.for_namespace(thread_id, checkpoint_ns)[0] + HISTORY_SUFFIX

    def rollback_base(self, thread_id: str, checkpoint_ns: str) -> str:
        """Key of the rollback base of (thread, ns)."""
        return self.for_namespace(thread_id, checkpoint_ns)[0] + BASE_SUFFIX

    def registry_pattern(self) -> str:
        """``SCAN MATCH`` pattern of this saver's registries, one per thread.

        ``CP:{*}`` matches no other key of the saver: an encoded namespace
        never ends with ``}`` and the layout key has no ``{``.
        """
        return glob_escape(self.checkpoint_prefix) + ":{*}"

    def split_registry(self, key: str | bytes) -> str:
        """The thread id of a registry key (see :meth:`registry`)."""
        if isinstance(key, bytes):
            key = key.decode()
        tag = key[len(self.checkpoint_prefix) + 2 : -1]  # between "CP:{" and "}"
        return "" if tag == "%" else unquote(tag, errors="surrogatepass")

    def split_entry(self, key: str | bytes) -> tuple[str, str]:
        """``(thread_id, checkpoint_ns)`` of a search entry key."""
        if isinstance(key, bytes):
            key = key.decode()
        rest = key[len(self.entry_prefix) + 2 :]  # after "WP:{"
        tag, _, ns = rest.partition("}:")
        thread = "" if tag == "%" else unquote(tag, errors="surrogatepass")
        return thread, unquote(ns, errors="surrogatepass")
