"""`python -m ganstudio`: the same entry point as the `ganstudio` command (the GUI starts training runs this way)."""
from ganstudio.cli import main

raise SystemExit(main())
