"""`python -m commandlang` is the `commandlang` command."""

import sys

from .cli import main

sys.exit(main())
