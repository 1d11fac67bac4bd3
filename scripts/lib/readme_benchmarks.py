"""Regenerate the README's benchmark figures: run each benchmark and put its Markdown output
between the README's markers `<!-- benchmark: NAME -->` and `<!-- /benchmark: NAME -->`.

    python scripts/lib/readme_benchmarks.py [NAME ...] [--quick]

NAME is a file in benchmarks/ without `.py` (default: every name the README marks). The figures
in the README are never typed in; this is the only way they change.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(
    r"(<!-- benchmark: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /benchmark: (?P=name) -->)",
    re.S,
)


def run(name: str, quick: bool) -> str:
    command = [sys.executable, str(ROOT / "benchmarks" / f"{name}.py")]
    if quick:
        command.append("--quick")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    output = done.stdout.strip()
    if done.returncode != 0 or not output:
        output += f"\n\n(benchmark exited {done.returncode}: {done.stderr.strip()[-300:]})"
    # the benchmark's own headings become bold lines inside the README's section
    output = re.sub(r"^#+ (.*)$", r"**\1**", output, flags=re.M)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return f"{output}\n\n*`benchmarks/{name}.py`, run {stamp} on the development machine.*\n"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("--")]
    text = README.read_text(encoding="utf-8")
    names = [m.group("name") for m in BLOCK.finditer(text)]
    for name in wanted or names:
        if name not in names:
            print(f"README has no block for {name}", file=sys.stderr)
            return 2
        print(f"running benchmarks/{name}.py …", file=sys.stderr)
        body = run(name, quick)
        text = BLOCK.sub(
            lambda m, n=name, b=body: m.group(1) + b + m.group(4)
            if m.group("name") == n
            else m.group(0),
            text,
        )
    README.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
