from device_adapters.bathy.adapter import BathyAdapter

__all__ = ["BathyAdapter"]
