import sys

from perfscore.cli import main

sys.exit(main())
