import sys

from bot_bottle_sidecars.egress.run import main

sys.exit(main())
