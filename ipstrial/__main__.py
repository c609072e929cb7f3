"""``python -m ipstrial`` runs the command line."""

from ipstrial.cli import main

raise SystemExit(main())
