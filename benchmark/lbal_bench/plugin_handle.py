"""A built plugin: its suite spec, registry entry and instance, and how it travels to
other processes.

Every stage that holds a plugin (cells, the feature cache, the runner, ``select``) holds
one of these; it is built from the registry in one place (:func:`build`), and pickled as
its kind and spec so an executor's worker rebuilds it from its own registry instead of
receiving plugin state or data.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from .errors import LbalError
from .guard import describe, entering, flag, stopped
from .registry import PluginInfo, Registry, options_of
from .suite import PluginSpec

T = TypeVar("T")


def fingerprint(config: dict) -> str:
    """A short stable hash of a JSON-able config."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def factory_defaults(factory: Any) -> dict:
    """The keyword defaults of a plugin factory (empty when it has no inspectable signature)."""
    return {o.name: o.default for o in options_of(factory) if o.default is not inspect.Parameter.empty}


@dataclass(frozen=True)
class Plugin:
    """A plugin of a suite, built: its spec, registry entry and instance."""

    spec: PluginSpec
    info: PluginInfo
    obj: Any

    def config(self) -> dict:
        """The plugin's part of a cell config: its name and every option, defaults included,
        so that changing a plugin's default changes the fingerprint; options the factory
        lists in ``runtime_options`` stay out: those that change no number (DataLoader
        workers) and those that only say where data is (a dataset's ``root``, a backbone's
        ``weights`` file) when the plugin's own fingerprint identifies it by content."""
        runtime = set(getattr(self.info.factory, "runtime_options", ()))
        options = {**factory_defaults(self.info.factory), **self.spec.options}
        return {"name": self.spec.name, "options": {k: v for k, v in options.items() if k not in runtime}}

    def changed_options(self) -> dict:
        """The options given that differ from the factory's defaults (runtime options left
        out): what the board shows beside a row, so a non-default protocol is never silent."""
        defaults = factory_defaults(self.info.factory)
        runtime = set(getattr(self.info.factory, "runtime_options", ()))
        missing = object()
        return {k: v for k, v in self.spec.options.items()
                if k not in runtime and _comparable(defaults.get(k, missing)) != _comparable(v)}

    def flag(self, name: str) -> bool:
        """A contract flag of the instance (``uses_labels``, ``iterative``, ``cold_start``),
        False when absent; anything but a bool is refused (``guard.flag``)."""
        return flag(self, name)

    def __reduce__(self):
        """Pickled as its kind and spec: another process (an executor's worker) rebuilds it
        from its own registry, once per process, so no plugin state or data is shipped."""
        return _registered_plugin, (self.info.kind, type(self.spec), self.spec.model_dump_json())


def _comparable(value: Any) -> Any:
    """Tuples and lists compare equal (a YAML list against a tuple default)."""
    return list(value) if isinstance(value, tuple) else value


def _registered_plugin(kind: str, spec_type: type[PluginSpec], spec_json: str) -> Plugin:
    """The plugin a pickled ``Plugin`` stood for, built from this process's registry."""
    from .plugins import get_registry

    return _build_once(get_registry(), kind, spec_type, spec_json)


def build(registry: Registry, kind: str, spec: PluginSpec) -> Plugin:
    """The plugin ``spec`` names, built from ``registry`` (errors name it)."""
    return Plugin(spec, registry.get(kind, spec.name), registry.create(kind, spec.name, spec.options))


@functools.lru_cache(maxsize=None)
def _build_once(registry: Registry, kind: str, spec_type: type[PluginSpec], spec_json: str) -> Plugin:
    return build(registry, kind, spec_type.model_validate_json(spec_json))


def build_plugin(registry: Registry, kind: str, name: str, options: dict) -> Plugin:
    """Plugin ``name`` of ``kind`` built with ``options`` outside a suite (errors name it)."""
    return build(registry, kind, PluginSpec(name=name, options=options))


def plugin_call(plugin: Plugin, what: str, call: Callable[[], T]) -> T:
    """Run ``call``; any failure becomes an ``LbalError`` naming the plugin, ``sys.exit``
    and ``KeyboardInterrupt`` too (``guard.PluginStopped``)."""
    entering(f"{describe(plugin)} in {what}")
    try:
        return call()
    except LbalError:
        raise
    except (SystemExit, KeyboardInterrupt) as exc:
        raise stopped(plugin, what, exc) from None
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        detail = lines[-1].strip() if len(lines) > 1 else f"{type(exc).__name__}: {exc}"  # a worker's traceback: its error
        raise LbalError(f"{describe(plugin)} failed in {what}: {detail}") from exc
