"""Neither saver bridges to the other API: the package never runs an event loop
from sync code nor pushes sync work to threads from async code.

Hand-written: it runs the same scan as ``tools/check_no_bridging.py`` (the
lint session's check) on ``src/``, and proves the scan catches a bridge.
"""

from __future__ import annotations

from pathlib import Path

from check_no_bridging import FORBIDDEN, scan  # tools/ is on sys.path (conftest)

ROOT = Path(__file__).resolve().parent.parent


def test_no_bridging_constructs_in_src():
    count, hits = scan(ROOT)
    assert count >= 14  # both variants, the twins and the shared modules
    assert not hits, "bridging between the sync and async APIs:\n" + "\n".join(hits)


def test_the_scan_catches_a_bridge(tmp_path: Path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "bad.py").write_text(
        "import asyncio\n\ndef get(x):\n    return asyncio.run(aget(x))\n"
    )
    count, hits = scan(tmp_path)
    assert count == 1
    assert hits == ["src/bad.py:4: asyncio.run(: return asyncio.run(aget(x))"]
    assert set(FORBIDDEN) >= {"run_coroutine_threadsafe", "to_thread", "asyncio.run("}
