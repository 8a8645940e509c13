import sys

from ops.report.cli import main

sys.exit(main())
