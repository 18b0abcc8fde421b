"""What a family's simulator is: a pure generator of the messages its devices would send.

A simulator has ``name``, ``done``, ``device_families()`` and ``tick(n, now) -> list[OutboundMessage]``;
sim/ runs it (credentials, one MQTT connection per device, pacing, fault injection). A family declares
its simulator with a ``SimulatorSpec``: the ``tlab sim <command>`` options are generated from
``options``, and ``./lab run --<run_flag> N`` starts ``run_processes(N, seed)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from device_adapters.contract import OutboundMessage


class Simulator(Protocol):
    name: str

    @property
    def done(self) -> bool: ...

    def device_families(self) -> dict[str, str]:
        """device id -> family of every device this simulator speaks for."""
        ...

    def tick(self, n: int, now: datetime) -> list[OutboundMessage]: ...


@dataclass(frozen=True)
class SimOption:
    """One ``tlab sim <command>`` option: ``--<name with dashes>``, typed by its default."""

    name: str
    default: int | float | str
    help: str


@dataclass(frozen=True)
class SimulatorSpec:
    command: str  # tlab sim <command>
    help: str
    build: Callable[..., Simulator]  # called with every option, as keywords
    options: tuple[SimOption, ...]
    run_flag: str  # ./lab run --<run_flag> N
    run_default: int
    # (N devices, seed) -> the ``tlab sim`` argument lists ./lab run starts, one process each
    run_processes: Callable[[int, int], list[list[str]]] = field(default=lambda n, seed: [])
    # the scenarios ``build`` implements itself (it then takes a ``scenario`` keyword), name -> what it
    # shows; every simulator also has ``silent`` (SilentDevices) unless it implements its own
    scenarios: dict[str, str] = field(default_factory=dict)

    def all_scenarios(self) -> dict[str, str]:
        return {**self.scenarios, "silent": self.scenarios.get("silent", SilentDevices.__doc__.splitlines()[0])}  # type: ignore[union-attr]

    def build_scenario(self, scenario: str, **options: Any) -> Simulator:
        """The simulator for ``scenario`` ("" for none): the family's own, or the generic ``silent``."""
        if scenario and scenario not in self.all_scenarios():
            raise ValueError(f"scenario {scenario!r}: one of {', '.join(self.all_scenarios())}")
        if scenario in self.scenarios:
            return self.build(**options, scenario=scenario)
        inner = self.build(**options, scenario="") if self.scenarios else self.build(**options)
        return SilentDevices(inner) if scenario == "silent" else inner

    def defaults(self) -> dict[str, Any]:
        return {o.name: o.default for o in self.options}

    def device_families(self, n: int) -> dict[str, str]:
        """device id -> family of the devices ``./lab run`` simulates with N of them."""
        found: dict[str, str] = {}
        for args in self.run_processes(n, 0):
            options = self.defaults()
            scenario = ""
            words = args[1:]
            for flag, value in zip(words[::2], words[1::2], strict=False):
                name = flag.removeprefix("--").replace("-", "_")
                if name == "scenario":
                    scenario = value
                else:
                    options[name] = type(options[name])(value)
            found.update(self.build_scenario(scenario, **options).device_families())
        return found


class SilentDevices:
    """Its devices send once, then stop and go offline (the platform's device-offline rule fires 15 min on).

    Any family's simulator, wrapped: the first tick is the family's own (the devices exist and have data),
    then nothing; ``done`` turns true and the runner closes each device's link saying "offline", as a
    device switched off or out of battery does."""

    def __init__(self, inner: Simulator) -> None:
        self.inner = inner
        self.name = f"{inner.name}-silent"
        self._ticked = False

    @property
    def done(self) -> bool:
        return self._ticked

    def device_families(self) -> dict[str, str]:
        return self.inner.device_families()

    def tick(self, n: int, now: datetime) -> list[OutboundMessage]:
        self._ticked = True
        return self.inner.tick(n, now) if n == 0 else []
