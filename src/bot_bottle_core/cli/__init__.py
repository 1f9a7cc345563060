"""The ``bot-bottle`` command line; the console script is :func:`.main.main`.

Nothing is imported here, so code that only needs :mod:`.context` (the
dashboard) does not load every command.
"""
