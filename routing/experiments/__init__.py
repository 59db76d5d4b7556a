"""A/B routing experiments: the writes (services), the reads and figures per arm
(selectors), the statistics (stats, pure) and the endpoints (api). The placement itself is
the pure engine's (``routing.engine.experiments``); ``routing.services.core.by_rules``
consults the running experiments from the process's cached set-up (``routing.world``)."""
