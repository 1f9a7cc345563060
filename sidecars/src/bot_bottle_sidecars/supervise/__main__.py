import sys

from bot_bottle_sidecars.supervise.server import main

sys.exit(main())
