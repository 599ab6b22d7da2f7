import sys

from spot_lab.cli import main

sys.exit(main())
