import sys

from avstudio.cli import main

sys.exit(main())
