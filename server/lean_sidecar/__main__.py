import sys

from lean_sidecar.cli import main

sys.exit(main())
