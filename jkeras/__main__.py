import sys

from jkeras.cli import main

sys.exit(main())
