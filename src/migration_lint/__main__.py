import sys

from migration_lint.cli import main

sys.exit(main())
