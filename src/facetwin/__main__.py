import sys

from facetwin.cli import main

sys.exit(main())
