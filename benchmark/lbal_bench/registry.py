"""Name → plugin maps, one per kind, with "did you mean" on unknown names."""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .errors import LbalError

KINDS = ("dataset", "backbone", "sampler", "evaluator", "executor")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _keyword_names(factory: Callable) -> set[str] | None:
    """The option names ``factory`` accepts, or None when it takes any (``**kwargs``) or cannot be inspected."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin and where it came from."""

    name: str
    kind: str
    factory: Callable[..., Any]
    distribution: str
    version: str
    entry_point: str
    meta: dict = field(default_factory=dict)


class Registry:
    """Every registered plugin, by kind and name."""

    def __init__(self) -> None:
        self._plugins: dict[str, dict[str, PluginInfo]] = {kind: {} for kind in KINDS}
        self.problems: list[str] = []

    def add(self, info: PluginInfo) -> None:
        """Register ``info``; a name registered twice is an error naming both origins."""
        known = self._plugins[info.kind]
        if info.name in known:
            first = known[info.name]
            raise LbalError(
                f"{info.kind} '{info.name}' is registered twice: by {first.distribution} "
                f"(entry point '{first.entry_point}') and by {info.distribution} "
                f"(entry point '{info.entry_point}')"
            )
        known[info.name] = info

    def names(self, kind: str) -> list[str]:
        """Registered names of ``kind``, sorted."""
        return sorted(self._plugins[kind])

    def all(self) -> list[PluginInfo]:
        """Every plugin, ordered by kind then name."""
        return [self._plugins[k][n] for k in KINDS for n in self.names(k)]

    def get(self, kind: str, name: str) -> PluginInfo:
        """The plugin ``name`` of ``kind``, or an error with the closest known name."""
        try:
            return self._plugins[kind][name]
        except KeyError:
            names = self.names(kind)
            hint = did_you_mean(name, names) or (
                f" (installed: {', '.join(names)})" if names else f" (no {kind} plugins are installed)"
            )
            raise LbalError(f"unknown {kind} '{name}'{hint}") from None

    def default_for(self, kind: str, role: str) -> str | None:
        """The plugin of ``kind`` that declares itself the default for ``role`` (registered
        with ``default_for=[role]``, e.g. the initial-pool sampler), None when none does;
        two that both declare it are an error naming both, so the choice is never silent."""
        found = [n for n in self.names(kind) if role in self._plugins[kind][n].meta.get("default_for", ())]
        if len(found) > 1:
            first, second = (self._plugins[kind][n] for n in found[:2])
            raise LbalError(f"{kind}s '{first.name}' ({first.distribution}) and '{second.name}' "
                            f"({second.distribution}) both declare themselves the default {role}")
        return found[0] if found else None

    def create(self, kind: str, name: str, options: dict) -> Any:
        """Build plugin ``name`` with ``options``; bad options give an error naming it."""
        return build(f"{kind} '{name}'", self.get(kind, name).factory, options)


def build(what: str, factory: Callable[..., Any], options: dict) -> Any:
    """``factory(**options)``; an unknown option (with a suggestion) or a rejected value
    gives an ``LbalError`` starting with ``what`` (e.g. ``sampler 'kmeans'``)."""
    accepted = _keyword_names(factory)
    for key in options:
        if accepted is not None and key not in accepted:
            known = f" (options: {', '.join(sorted(accepted))})" if accepted else " (it takes no options)"
            raise LbalError(f"{what}: unknown option '{key}'{did_you_mean(key, accepted) or known}")
    try:
        return factory(**options)
    except TypeError as exc:
        raise LbalError(f"{what}: bad options {options}: {exc}") from None
    except ValueError as exc:
        raise LbalError(f"{what}: {exc}") from None
