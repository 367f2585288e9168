import sys

from kamdash.cli import main

sys.exit(main())
