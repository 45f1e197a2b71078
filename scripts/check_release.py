#!/usr/bin/env python3
"""What a release needs, as one CI step: the distributions and the documentation site.

Runs ``check_dist.py`` (sdist and wheel built and checked) and ``build_docs.py`` (the site,
warnings as errors), both even when the first fails, and fails when either does. Run it with
the project's venv: ``.venv/bin/python scripts/check_release.py``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_docs
import check_dist


def main() -> int:
    failed = []
    for name, check in (("distributions", check_dist.main), ("documentation site", build_docs.main)):
        started = time.monotonic()
        code = check([])
        outcome = "ok" if code == 0 else "FAILED"
        print(f"--> {name}: {outcome} in {time.monotonic() - started:.1f}s", flush=True)
        if code != 0:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
