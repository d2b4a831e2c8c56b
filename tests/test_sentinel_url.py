"""``parse_sentinel_url``: the pure parsing of ``redis+sentinel://`` URLs."""

from __future__ import annotations

import pytest

from langgraph.checkpoint.redis_shallow.connection import (
    SentinelURL,
    is_sentinel_url,
    parse_sentinel_url,
)
from langgraph.checkpoint.redis_shallow.errors import InvalidConfigError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "redis+sentinel://host:26379/service/3",
            SentinelURL([("host", 26379)], "service", 3, None, None, False),
        ),
        (
            "redis+sentinel://127.0.0.1:5000/mymaster",
            SentinelURL([("127.0.0.1", 5000)], "mymaster", 0, None, None, False),
        ),
        (
            "redis+sentinel://a:1,b:2,c/svc/0",
            SentinelURL(
                [("a", 1), ("b", 2), ("c", 26379)], "svc", 0, None, None, False
            ),
        ),
        (
            "redis+sentinel://user:p%40ss%3Aw@h:1/svc",
            SentinelURL([("h", 1)], "svc", 0, "user", "p@ss:w", False),
        ),
        (
            "redis+sentinel://:secret@h:1/svc",
            SentinelURL([("h", 1)], "svc", 0, None, "secret", False),
        ),
        (
            "redis+sentinel://[::1]:26380,[fe80::2]/svc/12",
            SentinelURL(
                [("::1", 26380), ("fe80::2", 26379)], "svc", 12, None, None, False
            ),
        ),
        (
            "REDISS+SENTINEL://h:1/svc",
            SentinelURL([("h", 1)], "svc", 0, None, None, True),
        ),
    ],
)
def test_parses(url: str, expected: SentinelURL) -> None:
    assert parse_sentinel_url(url) == expected
    assert is_sentinel_url(url)


@pytest.mark.parametrize(
    "url",
    ["redis://h:1/0", "rediss://h:1", "unix:///tmp/r.sock", "sentinel://h/s", "h:1/s"],
)
def test_other_urls_are_not_sentinel_urls(url: str) -> None:
    assert not is_sentinel_url(url)
    with pytest.raises(InvalidConfigError, match="not a sentinel URL"):
        parse_sentinel_url(url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+sentinel://h:1", "no service name"),
        ("redis+sentinel://h:1/", "no service name"),
        ("redis+sentinel://h:1//0", "no service name"),
        ("redis+sentinel://h:x/svc", "bad port 'x'"),
        ("redis+sentinel://h:/svc", "bad port ''"),
        ("redis+sentinel://[::1]:/svc", "bad port ''"),
        ("redis+sentinel://h:0/svc", "out of range"),
        ("redis+sentinel://h:65536/svc", "out of range"),
        ("redis+sentinel://h:１/svc", "bad port"),
        ("redis+sentinel://h:1/svc/y", "bad db 'y'"),
        ("redis+sentinel://h:1/svc/-1", "bad db"),
        ("redis+sentinel://h:1/svc/", "bad db ''"),
        ("redis+sentinel://h:1/svc/0/x", "extra path"),
        ("redis+sentinel://:1/svc", "no host"),
        ("redis+sentinel:///svc", "no host"),
        ("redis+sentinel://h:1,/svc", "no host"),
        ("redis+sentinel://[::1/svc", "bad sentinel address"),
        ("redis+sentinel://[::1]x/svc", "bad sentinel address"),
        ("redis+sentinel://h:1/svc?socket_timeout=1", "query string"),
        ("redis+sentinel://h:1/svc#frag", "query string or fragment"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        parse_sentinel_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://admin:s3cr3t@h:x/svc",
        "redis+sentinel://admin:s3cr3t@h:1/svc/extra/parts",
        "redis+sentinel://:s3cr3t@h:1/svc?socket_timeout=1",
    ],
)
def test_a_refused_url_is_named_without_its_password(url: str) -> None:
    with pytest.raises(InvalidConfigError) as info:
        parse_sentinel_url(url)
    assert "s3cr3t" not in str(info.value)
    assert ":***@h" in str(info.value)


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_saver_names_a_bad_url_without_its_password(kind: str) -> None:
    from langgraph.checkpoint.redis_shallow import (
        AsyncShallowRedisSaver,
        ShallowRedisSaver,
    )

    cls = AsyncShallowRedisSaver if kind == "async" else ShallowRedisSaver
    with pytest.raises(InvalidConfigError) as info:
        cls("redis://admin:s3cr3t@host:notaport/0")
    assert "s3cr3t" not in str(info.value)
    assert "redis://admin:***@host:notaport/0" in str(info.value)
