from device_adapters.ptipot.adapter import PtipotAdapter

__all__ = ["PtipotAdapter"]
