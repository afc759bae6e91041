"""The plugin manager: load the ``lbal_bench`` entry points, isolate the broken ones.

lbal-bench's own executors (:mod:`lbal_bench.executors`) are registered through the same
hooks, always, whatever ``LBAL_LOAD_PLUGINS`` says.

Environment variables:

- ``LBAL_LOAD_PLUGINS``: comma-separated entry-point names to load; when set (even to
  an empty string) every other installed plugin is ignored. Useful for reproducible CI.
- ``LBAL_STRICT_PLUGINS=1``: a plugin that fails to import or register is fatal instead
  of a warning.
"""

from __future__ import annotations

import functools
import os
from importlib.metadata import EntryPoint, entry_points

import pluggy

from . import hookspecs
from .errors import LbalError
from .registry import PluginInfo, Registry

GROUP = "lbal_bench"

HOOKS = {
    "dataset": "lbal_register_datasets",
    "backbone": "lbal_register_backbones",
    "sampler": "lbal_register_samplers",
    "evaluator": "lbal_register_evaluators",
    "executor": "lbal_register_executors",
}

CORE = "lbal_bench.executors"  # the core's own hook implementations, registered under this name


def _origin(ep: EntryPoint) -> tuple[str, str, str]:
    """(distribution, version, entry point name) of a plugin module."""
    dist = ep.dist
    return (dist.name, dist.version, ep.name) if dist is not None else ("unknown distribution", "?", ep.name)


def _selected_entry_points() -> list[EntryPoint]:
    found = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    wanted = os.environ.get("LBAL_LOAD_PLUGINS")
    if wanted is None:
        return found
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    return [ep for ep in found if ep.name in names]


def _report(registry: Registry, message: str) -> None:
    if os.environ.get("LBAL_STRICT_PLUGINS") == "1":
        raise LbalError(message)
    registry.problems.append(message)


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    """Load every installed plugin once per process and return the registry.

    Call ``get_registry.cache_clear()`` after installing plugins at run time (tests do).
    """
    registry = Registry()
    manager = pluggy.PluginManager(GROUP)
    manager.add_hookspecs(hookspecs)
    from . import __version__, executors

    manager.register(executors, name=CORE)
    origins: dict[str, tuple[str, str, str]] = {CORE: ("lbal-bench", __version__, CORE)}
    for ep in _selected_entry_points():
        dist, version, _ = _origin(ep)
        try:
            manager.register(ep.load(), name=ep.name)
        except Exception as exc:  # a broken plugin must not take the others down
            _report(
                registry,
                f"plugin '{ep.name}' from {dist} {version} failed to load: "
                f"{type(exc).__name__}: {exc}",
            )
            continue
        origins[ep.name] = _origin(ep)

    for kind, hook_name in HOOKS.items():
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            dist, version, entry_point = origins[impl.plugin_name]

            def register(name, factory, _kind=kind, _ep=entry_point, _dist=dist, _version=version, **meta):
                registry.add(PluginInfo(name, _kind, factory, _dist, _version, _ep, meta))

            try:
                impl.function(register=register)
            except LbalError:
                raise
            except Exception as exc:
                _report(
                    registry,
                    f"plugin '{entry_point}' from {dist} {version} failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}",
                )
    return registry
