"""``python -m nlu_lite`` is the ``nlu-lite`` command."""

import sys

from nlu_lite.cli import main

sys.exit(main())
