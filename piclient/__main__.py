import sys

from piclient.cli import main

sys.exit(main())
