import sys

from vlmsel.cli import main

sys.exit(main())
