"""`python -m worker.cli`: the same as the `spendsense-video` script."""

from worker.cli import main

raise SystemExit(main())
