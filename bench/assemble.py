"""Assemble BENCHMARKS.md from bench/results/*.md (each written by one bench_*.py run)."""

from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = """# Benchmarks

Every figure below comes from a `bench/bench_*.py` run whose command, machine and date
are given with it. Speed is reported as a ratio against a baseline measured in the same
run on the same machine, never as an absolute pass/fail threshold in tests.
Regenerate this file with `.venv/bin/python bench/assemble.py` after running benchmarks.
"""


def main() -> None:
    parts = [HEADER]
    for result in sorted((HERE / "results").glob("*.md")):
        text = result.read_text(encoding="utf-8").strip()
        # Each result file is its own document: nest its headings one level down.
        parts.append("\n".join("#" + line if line.startswith("#") else line for line in text.splitlines()))
    (HERE.parent / "BENCHMARKS.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
