"""Tables and the issue's targets, from the results dictionary."""

from __future__ import annotations

from typing import Any

from ops import OPS

SAVERS = (
    "ours_async",
    "ours_sync",
    "plain_async",
    "plain_sync",
    "upstream_async",
    "upstream_sync",
    "memory_async",
    "memory_sync",
)
LABELS = {
    "ours_async": "ours async",
    "ours_sync": "ours sync",
    "plain_async": "unc. async",
    "plain_sync": "unc. sync",
    "upstream_async": "upstr async",
    "upstream_sync": "upstr sync",
    "memory_async": "InMem async",
    "memory_sync": "InMem sync",
}
OP_LABELS = {
    "put": "put",
    "put_writes": "put_writes (3)",
    "get_tuple": "get_tuple latest",
    "get_tuple_by_id": "get_tuple by id",
    "list": "list one thread",
    "delete_thread": "delete_thread",
}


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}x" if v >= 10 else f"{v:.2f}x"


def _per_s_ms(part: dict[str, Any]) -> str:
    return f"{part['per_s']:.0f} / {part['median_ms']:.2f}"


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(
        c.ljust(w) if i == 0 else c.rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def _table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        "",
        title,
        _row(header, widths),
        _row(["-" * w for w in widths], widths),
        *(_row(r, widths) for r in rows),
    ]


def median(res: dict[str, Any], n: str, saver: str, op: str) -> float | None:
    try:
        return float(res["ops"][n][saver][op]["median_ms"])
    except KeyError:
        return None


def upstream_best(res: dict[str, Any], n: str, op: str) -> float | None:
    vals = [
        v
        for s in ("upstream_async", "upstream_sync")
        if (v := median(res, n, s, op)) is not None
    ]
    return min(vals) if vals else None


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def floor_ms(res: dict[str, Any], n: str, op: str, mode: str) -> float | None:
    """One pipelined SET+GET of the checkpoint's size plus the serde cost
    (dumps for writes, loads for reads); None for ops without a floor."""
    fl = res.get("floor", {})
    try:
        rtt = fl[mode][f"set_get_n{n}"]["median_ms"]
        serde = fl["serde"][n]
    except KeyError:
        return None
    if op == "put":
        return rtt + serde["dumps"]["median_ms"]
    if op in ("get_tuple", "get_tuple_by_id", "list"):
        return rtt + serde["loads"]["median_ms"]
    if op in ("put_writes", "delete_thread"):
        return fl[mode]["ping"]["median_ms"]
    return None


def tables(res: dict[str, Any]) -> list[str]:
    out: list[str] = []
    present = [s for s in SAVERS if any(s in res["ops"][n] for n in res["ops"])]
    for n, per in res["ops"].items():
        size = res["sizes"][n]
        samples = max(
            (r.get("get_tuple", {}).get("samples", 0) for r in per.values()), default=0
        )
        header = ["op", *(LABELS[s] for s in present), "floor a/s"]
        rows = []
        for op in OPS:
            cells = [OP_LABELS[op]]
            for s in present:
                r = per.get(s, {}).get(op)
                cells.append(
                    "-" if r is None else f"{_ms(r['median_ms'])} / {_ms(r['p99_ms'])}"
                )
            fa, fs = floor_ms(res, n, op, "async"), floor_ms(res, n, op, "sync")
            cells.append(f"{_ms(fa)} / {_ms(fs)}")
            rows.append(cells)
        out += _table(
            f"== 1. Latency, N={n} messages (checkpoint {size['checkpoint_bytes']} B "
            f"serialized); ms, median / p99 of {samples} ==",
            header,
            rows,
        )
        header = [
            "op",
            "async: upstr best/ours",
            "sync: upstr best/ours",
            "async: ours/InMem",
            "sync: ours/InMem",
            "ours async/sync",
            "async: ours/unc.",
            "sync: ours/unc.",
            "async: ours/floor",
            "sync: ours/floor",
        ]
        rows = []
        for op in OPS:
            oa, os_ = median(res, n, "ours_async", op), median(res, n, "ours_sync", op)
            best = upstream_best(res, n, op)
            rows.append(
                [
                    OP_LABELS[op],
                    _x(_div(best, oa)),
                    _x(_div(best, os_)),
                    _x(_div(oa, median(res, n, "memory_async", op))),
                    _x(_div(os_, median(res, n, "memory_sync", op))),
                    _x(_div(oa, os_)),
                    _x(_div(oa, median(res, n, "plain_async", op))),
                    _x(_div(os_, median(res, n, "plain_sync", op))),
                    _x(_div(oa, floor_ms(res, n, op, "async"))),
                    _x(_div(os_, floor_ms(res, n, op, "sync"))),
                ]
            )
        out += _table(
            f"   ratios, N={n} (upstr best = faster of upstream async/sync; "
            "unc. = ours with compression off)",
            header,
            rows,
        )
        if "upstream_async" in present:
            out.append(
                "   note: upstream async's list returns tuples with empty "
                "channel_values (a defect of 0.5.2), hence its low list time"
            )
        header = ["op", *(LABELS[s] for s in present), "upstr best/ours a/s"]
        rows = []
        for op in OPS:
            cpu = {s: per.get(s, {}).get(op, {}).get("cpu_median_ms") for s in present}
            best = [cpu[s] for s in ("upstream_async", "upstream_sync") if cpu.get(s)]
            rows.append(
                [
                    OP_LABELS[op],
                    *(_ms(cpu[s]) for s in present),
                    f"{_x(_div(min(best), cpu.get('ours_async')) if best else None)}"
                    f" / {_x(_div(min(best), cpu.get('ours_sync')) if best else None)}",
                ]
            )
        out += _table(
            f"   client CPU time per op, N={n} (ms, median; excludes waiting for "
            "Redis and for other processes)",
            header,
            rows,
        )
        redis_savers = [s for s in present if not s.startswith("memory")]
        header = ["op", *(LABELS[s] for s in redis_savers)]
        rows = []
        for op in OPS:
            cells = [OP_LABELS[op]]
            for s in redis_savers:
                r = per.get(s, {}).get(op, {})
                rt, sent = r.get("round_trips"), r.get("bytes_sent")
                cells.append("-" if rt is None else f"{rt:.2f} rt / {sent:.0f} B")
            rows.append(cells)
        out += _table(
            f"== 4. Round trips and bytes sent per op, N={n} ==", header, rows
        )

    tp = res["throughput"]
    rows = []
    for s in SAVERS:
        if s in tp:
            t = tp[s]
            rt = t.get("round_trips_per_cycle")
            rows.append(
                [
                    LABELS[s],
                    f"{t['workers']} {t['worker_kind']}",
                    f"{t['cycles_per_s']:.0f}",
                    "-" if rt is None else f"{rt:.2f}",
                ]
            )
    for mode in ("async", "sync"):
        ours, up, mem = (
            tp.get(f"{f}_{mode}", {}).get("cycles_per_s")
            for f in ("ours", "upstream", "memory")
        )
        rows.append(
            [
                f"ratio {mode}",
                "ours/upstr, ours/InMem",
                _x(_div(ours, up)),
                _x(_div(ours, mem)),
            ]
        )
    out += _table(
        "== 2. Throughput, put+put_writes+get_tuple cycles/s, "
        f"N={res['config']['throughput_n']} ==",
        ["saver", "workers", "cycles/s", "rt/cycle"],
        rows,
    )

    gr = res["graph"]
    rows = []
    for s in SAVERS:
        if s not in gr:
            continue
        d, r = gr[s]["distinct"], gr[s]["reused"]
        rt = [p.get("round_trips_per_invocation") for p in (d, r)]
        rows.append(
            [
                LABELS[s],
                f"{d['per_s']:.0f}",
                f"{d['median_ms']:.2f}",
                "-" if rt[0] is None else f"{rt[0]:.1f} / {rt[1]:.1f}",
                f"{r['per_s']:.0f}",
                _per_s_ms(r["first_10pct"]),
                _per_s_ms(r["last_10pct"]),
                _x(r["last_vs_first"]),
            ]
        )
    for mode in ("async", "sync"):
        o, m, u = (gr.get(f"{f}_{mode}") for f in ("ours", "memory", "upstream"))
        if o and m:
            rows.append(
                [
                    f"ours/InMem {mode}",
                    _x(o["distinct"]["per_s"] / m["distinct"]["per_s"]),
                    "",
                    "",
                    _x(o["reused"]["per_s"] / m["reused"]["per_s"]),
                    "",
                    "",
                    "",
                ]
            )
        if o and u:
            rows.append(
                [
                    f"ours/upstr {mode}",
                    _x(o["distinct"]["per_s"] / u["distinct"]["per_s"]),
                    "",
                    "",
                    _x(o["reused"]["per_s"] / u["reused"]["per_s"]),
                    "",
                    "",
                    "",
                ]
            )
    inv = res["config"]["graph_invocations"]
    out += _table(
        f"== 3. 3-node chain, add_messages, {inv} invocations; distinct threads / "
        f"{res['config']['graph_reused_threads']} threads round-robin ==",
        [
            "saver",
            "distinct inv/s",
            "ms med",
            "rt/inv d / r",
            "reused inv/s",
            "first 10%: inv/s / ms",
            "last 10%: inv/s / ms",
            "last/first",
        ],
        rows,
    )

    for n, per in res["memory"].items():
        state = res["sizes"][n]["state_bytes"]
        rows = []
        for s in SAVERS:
            if s not in per:
                continue
            m = per[s]
            steps = [k for k in m if k != "threads"]
            for k in steps:
                rows.append(
                    [
                        LABELS[s] if k == steps[0] else "",
                        k,
                        f"{m[k]['key_usage_per_thread'] / 1024:.1f}",
                        _x(m[k]["key_usage_per_thread"] / state),
                        f"{m[k]['keys_per_thread']:.1f}",
                        f"{m[k]['used_memory_per_thread'] / 1024:.1f}",
                        _x(m[k]["used_memory_per_thread"] / state),
                    ]
                )
        threads = next(iter(per.values()))["threads"] if per else 0
        out += _table(
            f"== 4. Memory per thread, N={n}: serialized state {state / 1024:.1f} KiB "
            f"(checkpoint + metadata + 3 writes); {threads} threads ==\n"
            "   MEMORY USAGE: sum over the thread's keys (exact; the target); "
            "used_memory: server growth / threads (adds index entries; noisy)",
            [
                "saver",
                "steps",
                "MEMORY USAGE KiB",
                "/state",
                "keys",
                "used_memory KiB",
                "/state",
            ],
            rows,
        )

    fl = res["floor"]
    rows = []
    for mode in ("sync", "async"):
        f = fl[mode]
        rows.append(
            [f"{mode} PING", _ms(f["ping"]["median_ms"]), _ms(f["ping"]["p99_ms"])]
        )
        for n in res["sizes"]:
            r = f[f"set_get_n{n}"]
            rows.append(
                [
                    f"{mode} SET+GET {res['sizes'][n]['checkpoint_bytes']} B",
                    _ms(r["median_ms"]),
                    _ms(r["p99_ms"]),
                ]
            )
    for n, s in fl["serde"].items():
        rows.append(
            [
                f"serde dumps checkpoint N={n}",
                _ms(s["dumps"]["median_ms"]),
                _ms(s["dumps"]["p99_ms"]),
            ]
        )
        rows.append(
            [
                f"serde loads checkpoint N={n}",
                _ms(s["loads"]["median_ms"]),
                _ms(s["loads"]["p99_ms"]),
            ]
        )
    sync_ping, async_ping = (
        fl["sync"]["ping"]["median_ms"],
        fl["async"]["ping"]["median_ms"],
    )
    rows.append(["async/sync PING (redis-py's own)", _x(async_ping / sync_ping), ""])
    for n in res["sizes"]:
        a = fl["async"][f"set_get_n{n}"]["median_ms"]
        b = fl["sync"][f"set_get_n{n}"]["median_ms"]
        rows.append([f"async/sync SET+GET N={n}", _x(a / b), ""])
    out += _table("== 5. Floor (ms) ==", ["what", "median", "p99"], rows)
    return out


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets as ratios; ``ok`` is None when not measurable."""
    found: list[dict[str, Any]] = []

    def add(name: str, value: float | None, op: str, limit: float) -> None:
        ok = (
            None
            if value is None
            else (value >= limit if op == ">=" else value <= limit)
        )
        found.append(
            {"target": name, "value": value, "op": op, "limit": limit, "ok": ok}
        )

    sizes = list(res["ops"])
    for op, limits in (
        ("get_tuple", {"10": 6, "200": 8}),
        ("put", {"10": 3, "200": 6}),
        ("put_writes", {"10": 2.5, "200": 2.5}),
    ):
        for n in sizes:
            if n not in limits:
                continue
            best = upstream_best(res, n, op)
            for mode in ("async", "sync"):
                add(
                    f"{op} N={n}, ours {mode} vs upstream best (x faster)",
                    _div(best, median(res, n, f"ours_{mode}", op)),
                    ">=",
                    limits[n],
                )
    tp = res["throughput"]
    for mode in ("async", "sync"):
        add(
            f"throughput, ours {mode} vs upstream {mode} (x)",
            _div(
                tp.get(f"ours_{mode}", {}).get("cycles_per_s"),
                tp.get(f"upstream_{mode}", {}).get("cycles_per_s"),
            ),
            ">=",
            5,
        )
    gr = res["graph"]
    for mode in ("async", "sync"):
        o, m = gr.get(f"ours_{mode}"), gr.get(f"memory_{mode}")
        add(
            f"graph distinct threads, ours {mode} vs InMemory inv/s (x)",
            _div(o["distinct"]["per_s"], m["distinct"]["per_s"]) if o and m else None,
            ">=",
            0.6,
        )
    for mode in ("async", "sync"):
        o, m = gr.get(f"ours_{mode}"), gr.get(f"memory_{mode}")
        ref = f"; InMemory {m['reused']['last_vs_first']:.2f}" if m else ""
        add(
            f"graph reused threads, ours {mode} last 10% / first 10% (ms{ref})",
            o["reused"]["last_vs_first"] if o else None,
            "<=",
            1.3,
        )
    for n, per in res["memory"].items():
        state = res["sizes"][n]["state_bytes"]
        ours = [per[s] for s in ("ours_async", "ours_sync") if s in per]
        if not ours:
            continue
        steps = [k for k in ours[0] if k != "threads"]
        for k in steps:
            add(
                f"memory N={n} after {k} step(s), ours (worse variant) / state",
                max(m[k]["key_usage_per_thread"] for m in ours) / state,
                "<=",
                1.3,
            )
        if len(steps) > 1:
            add(
                f"memory N={n} after {steps[-1]} / after {steps[0]} step(s), "
                "ours (worse variant)",
                max(
                    m[steps[-1]]["key_usage_per_thread"]
                    / m[steps[0]]["key_usage_per_thread"]
                    for m in ours
                ),
                "<=",
                1.1,
            )
    _compression_targets(res, add)
    for n in sizes:
        for op in OPS:
            add(
                f"{op} N={n}, ours async / ours sync (median)",
                _div(median(res, n, "ours_async", op), median(res, n, "ours_sync", op)),
                "<=",
                1.3,
            )
    return found


def _sent(res: dict[str, Any], n: str, saver: str, op: str) -> float | None:
    try:
        return float(res["ops"][n][saver][op]["bytes_sent"])
    except KeyError:
        return None


def _compression_targets(res: dict[str, Any], add: Any) -> None:
    """Issue #11's targets: ours (compressing) against ours with compression
    off ("unc."), in the same run."""
    for n, per in res["memory"].items():
        if n != "200":
            continue
        state = res["sizes"][n]["state_bytes"]
        for mode in ("async", "sync"):
            m = per.get(f"ours_{mode}")
            last = [k for k in m if k != "threads"][-1] if m else None
            add(
                f"memory N={n} after {last} step(s), ours {mode} / state (compressed)",
                m[last]["key_usage_per_thread"] / state if m and last else None,
                "<=",
                0.5,
            )
    if "200" in res["ops"]:
        for mode in ("async", "sync"):
            add(
                f"bytes sent per put N=200, ours {mode} / uncompressed",
                _div(
                    _sent(res, "200", f"ours_{mode}", "put"),
                    _sent(res, "200", f"plain_{mode}", "put"),
                ),
                "<=",
                0.5,
            )
            for op in ("put", "get_tuple"):
                add(
                    f"{op} N=200, ours {mode} / uncompressed (median)",
                    _div(
                        median(res, "200", f"ours_{mode}", op),
                        median(res, "200", f"plain_{mode}", op),
                    ),
                    "<=",
                    1.0,
                )
    if "10" in res["ops"]:
        for op in OPS:
            for mode in ("async", "sync"):
                add(
                    f"{op} N=10, ours {mode} / uncompressed (median)",
                    _div(
                        median(res, "10", f"ours_{mode}", op),
                        median(res, "10", f"plain_{mode}", op),
                    ),
                    "<=",
                    1.05,
                )


def target_lines(found: list[dict[str, Any]]) -> list[str]:
    out = ["", "== Targets (issues #4 and #11), informational =="]
    for t in found:
        verdict = "SKIP" if t["ok"] is None else "PASS" if t["ok"] else "MISS"
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        out.append(f"{verdict}  {t['target']}: {value} (target {t['op']} {t['limit']})")
    passed = sum(1 for t in found if t["ok"])
    missed = sum(1 for t in found if t["ok"] is False)
    out.append(f"{passed} pass, {missed} miss, {len(found) - passed - missed} skipped")
    return out
