"""Test support for bot-bottle's distributions (a pytest plugin, loaded automatically).

Fixtures: ``docker_client`` and ``base_image``. Without an engine or the base
image they skip, except under ``CI=true``, where they fail, so a broken engine
set-up cannot pass as a row of skips; a test using ``docker_client`` is marked
``docker``, and under CI a ``docker`` test that skips for any reason fails.
:mod:`bot_bottle_testing.certs` makes throw-away CAs for fake upstreams.
"""
