"""Modules small enough to live in: fail over 600 lines, note those over 400."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_is_too_big_to_live_in() -> None:
    sizes = {p: len(p.read_text().splitlines()) for p in (ROOT / "approvals").rglob("*.py")}
    too_big = {str(p.relative_to(ROOT)): n for p, n in sizes.items() if n > 600}
    assert not too_big, f"split these modules: {too_big}"
    for path, lines in sorted(sizes.items()):
        if lines > 400:
            print(f"note: {path.relative_to(ROOT)} has {lines} lines")  # noqa: T201


def test_test_files_have_unique_names() -> None:
    """Test folders are not packages, so pytest imports test modules by file name: two
    `test_cli.py` files in different folders would shadow each other in one run."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    assert not duplicated, f"rename these test files: {duplicated}"
