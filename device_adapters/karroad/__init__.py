from device_adapters.karroad.adapter import KarroadAdapter

__all__ = ["KarroadAdapter"]
