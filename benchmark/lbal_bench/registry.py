"""Name → plugin maps, one per kind, with "did you mean" on unknown names."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from pydantic import TypeAdapter, ValidationError

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

    def default(self, kind: str, role: str, what: str) -> tuple[str, dict]:
        """The name and options of the plugin declared default for ``role`` (options from
        ``default_for={role: {...}}``; none from ``default_for=[role]``), or an error saying
        that ``what`` (e.g. ``--sampler``) must then be given."""
        name = self.default_for(kind, role)
        if name is None:
            raise LbalError(f"no installed {kind} declares itself the default for {role}: give {what}")
        declared = self._plugins[kind][name].meta["default_for"]
        return name, dict(declared[role]) if isinstance(declared, dict) else {}

    def create(self, kind: str, name: str, options: dict) -> Any:
        """Build plugin ``name`` with ``options``; bad options give an error naming it."""
        return build(f"{kind} '{name}'", self.get(kind, name).factory, options)


_UNIONS = (typing.Union, types.UnionType)
_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _type_name(annotation: Any) -> str:
    """``int``, ``str | float``, ``tuple[int, ...]``: the annotation without its declared bounds."""
    if hasattr(annotation, "__metadata__"):
        annotation = annotation.__origin__
    if typing.get_origin(annotation) in _UNIONS:
        return " | ".join(_type_name(member) for member in typing.get_args(annotation))
    if annotation is type(None):
        return "None"
    if typing.get_origin(annotation) is typing.Literal:
        return " | ".join(repr(choice) for choice in typing.get_args(annotation))
    shown = str(annotation) if typing.get_args(annotation) else getattr(annotation, "__name__", str(annotation))
    return shown.replace("typing.", "").replace("collections.abc.", "")


@dataclass(frozen=True)
class Option:
    """One option a plugin factory declares: its name, default (``inspect.Parameter.empty``
    when required) and type annotation (``Any`` when it has none or it cannot be resolved).

    A range is declared with the annotation, ``Annotated[float, Interval(gt=0, le=1)]``
    or ``Annotated[int, Ge(1)]`` (``annotated_types``, as pydantic reads them): ``build``
    checks it and ``lbal-bench plugins --json`` lists it."""

    name: str
    default: Any
    annotation: Any

    def range(self) -> str:
        """The declared bounds, e.g. ``"> 0, <= 1"``; empty when there are none."""
        bounds = []
        members = typing.get_args(self.annotation) if typing.get_origin(self.annotation) in _UNIONS else ()
        metadata = [m for a in (self.annotation, *members) for m in getattr(a, "__metadata__", ())]
        for constraint in metadata:
            bounds += [f"{sign} {getattr(constraint, key)}" for key, sign in _BOUNDS
                       if getattr(constraint, key, None) is not None]
        return ", ".join(bounds)

    def describe(self) -> dict:
        """The option as plain data (``lbal-bench plugins --json``)."""
        required = self.default is inspect.Parameter.empty
        return {"name": self.name, "type": _type_name(self.annotation), "range": self.range() or None,
                "default": None if required else _plain(self.default), "required": required}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value if isinstance(value, (int, float, str, bool, list, dict, type(None))) else repr(value)


@functools.lru_cache(maxsize=None)
def options_of(factory: Callable) -> tuple[Option, ...]:
    """The keyword options of ``factory`` with their defaults and types (empty when it
    cannot be inspected); cached: fingerprints read them for every cell."""
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return ()
    try:
        # a dataclass's fields by its MRO, so an inherited field's annotation resolves in the
        # module that declared it; a class's __init__ or a function's own signature otherwise
        owner = factory if dataclasses.is_dataclass(factory) else \
            factory.__init__ if inspect.isclass(factory) else factory
        hints = typing.get_type_hints(owner, include_extras=True)
    except Exception:  # an annotation naming something not importable here: check names only
        hints = {}
    return tuple(Option(p.name, p.default, hints.get(p.name, Any)) for p in parameters
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def _type_problem(option: Option, value: Any) -> str | None:
    """Why ``value`` does not fit ``option``'s annotation; None if it does (or it has none)."""
    if option.annotation is Any:
        return None
    try:
        adapter = TypeAdapter(option.annotation)
    except Exception:  # not a type pydantic knows: the factory checks it
        return None
    try:
        # scalars strictly (true is not 1, "3" is not 3); lists laxly (a YAML list for a tuple)
        adapter.validate_python(value, strict=isinstance(value, (bool, int, float, str)))
    except ValidationError:
        described = option.describe()
        within = f" ({described['range']})" if described["range"] else ""
        return f"option '{option.name}' must be {described['type']}{within}, got {value!r}"
    return None


def build(what: str, factory: Callable[..., Any], options: dict) -> Any:
    """``factory(**options)``; an unknown option (with a suggestion), a value that does not
    fit the option's type annotation, or a value the factory rejects gives an
    ``LbalError`` starting with ``what`` (e.g. ``sampler 'kmeans'``)."""
    accepted = _keyword_names(factory)
    declared = {o.name: o for o in options_of(factory)}
    for key, value in options.items():
        if accepted is not None and key not in accepted:
            known = f" (options: {', '.join(sorted(accepted))})" if accepted else " (it takes no options)"
            raise LbalError(f"{what}: unknown option '{key}'{did_you_mean(key, accepted) or known}")
        problem = _type_problem(declared[key], value) if key in declared else None
        if problem:
            raise LbalError(f"{what}: {problem}")
    try:
        return factory(**options)
    except TypeError as exc:
        raise LbalError(f"{what}: bad options {options}: {exc}") from None
    except ValueError as exc:
        raise LbalError(f"{what}: {exc}") from None
    except LbalError:
        raise
    except Exception as exc:  # a plugin's own bug: one line naming it, never a traceback
        raise LbalError(f"{what}: factory failed: {type(exc).__name__}: {exc}") from None
