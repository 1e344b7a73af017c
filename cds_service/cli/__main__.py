"""``python -m cds_service.cli``: the ``cds-service`` command."""

from cds_service.cli import main

raise SystemExit(main())
