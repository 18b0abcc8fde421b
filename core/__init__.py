"""What every process shares: settings, logs, the database (pool, migrations, SQLSTATE triage), the media
store, the device registry and the broker's credentials. It sits on device_adapters (pure decoding) and
under everything else: ingest, services (the API and domain services), sim and the CLI import it; it
imports none of them (import-linter contracts in pyproject.toml)."""
