"""Device adapters: pure decoding of device payloads into canonical records (see contract.py)."""
