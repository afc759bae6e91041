"""The suite file: a pydantic schema (unknown keys rejected) and a YAML loader that
reports every problem as one line ``FILE:LINE: message``.

A suite is the grid datasets × backbones × samplers × budgets × seeds × evaluators.
Plugins are given by name, or as ``{name, options, label}``. Strings may use
``${VARIABLE}`` to read the environment (an unset variable is an error).
"""

from __future__ import annotations

import os
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .errors import LbalError
from .registry import did_you_mean

PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _no_bool_budget(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"budget {str(value).lower()} is a boolean, not a count or a percentage")
    return value


def _check_seed(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"seed {str(value).lower()} is a boolean, not an integer")
    if isinstance(value, int) and value < 0:
        raise ValueError(f"seed {value} must be an integer >= 0")
    return value


def _check_budget(budget: Budget) -> Budget:
    if isinstance(budget, str):
        match = PERCENT.match(budget)
        if not match:
            raise ValueError(f"budget '{budget}' is neither a count nor a percentage like '0.2%'")
        if not 0 < float(match.group(1)) <= 100:
            raise ValueError(f"budget '{budget}' must be in (0%, 100%]")
    elif budget <= 0:
        raise ValueError(f"budget {budget} must be positive")
    return budget


class PluginSpec(BaseModel):
    """A plugin reference: ``name`` plus the ``options`` its factory receives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    label: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def display(self) -> str:
        """Name shown on the leaderboard: ``label`` if given, else ``name``."""
        return self.label or self.name


Budget = Annotated[Union[int, str], BeforeValidator(_no_bool_budget)]
Seed = Annotated[int, BeforeValidator(_check_seed)]


class InitialPool(BaseModel):
    """Where an iterative sampler starts: a single-batch sampler picks ``size`` points."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sampler: PluginSpec
    size: Budget

    @field_validator("size")
    @classmethod
    def _check_size(cls, size: Budget) -> Budget:
        return _check_budget(size)


def _check_budgets(budgets: list[Budget] | None) -> list[Budget] | None:
    for budget in budgets or ():
        _check_budget(budget)
    if budgets and len(set(budgets)) != len(budgets):
        raise ValueError("budgets must not repeat")
    return budgets


class DatasetSpec(PluginSpec):
    """A dataset reference; its own ``budgets`` replace the suite's for this dataset (the
    paper's budgets differ per dataset, e.g. Table 10: 10/40/100 labels on CIFAR-10,
    102/306/408 on Flowers-102)."""

    budgets: list[Budget] | None = Field(default=None, min_length=1)

    @field_validator("budgets")
    @classmethod
    def _valid_budgets(cls, budgets: list[Budget] | None) -> list[Budget] | None:
        return _check_budgets(budgets)


NO_INITIAL_POOL = "none"


class SamplerSpec(PluginSpec):
    """A sampler reference; iterative samplers may name their ``initial_pool``, or say
    ``initial_pool: none`` (also written ``0``) to start from zero labels (the default
    for samplers that declare ``cold_start``; :mod:`lbal_bench.schedule`)."""

    initial_pool: InitialPool | Literal["none"] | None = None

    @field_validator("initial_pool", mode="before")
    @classmethod
    def _no_pool(cls, value: Any) -> Any:
        if value == 0 or value == "0" or (isinstance(value, dict) and value.get("size") in (0, "0")
                                          and set(value) <= {"size", "sampler"}):
            return NO_INITIAL_POOL
        return value


class Suite(BaseModel):
    """A benchmark suite file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    datasets: list[DatasetSpec] = Field(min_length=1)
    backbones: list[PluginSpec] = Field(min_length=1)
    samplers: list[SamplerSpec] = Field(min_length=1)
    evaluators: list[PluginSpec] = Field(min_length=1)
    budgets: list[Budget] | None = Field(default=None, min_length=1)  # None: every dataset gives its own
    seeds: list[Seed] = Field(default_factory=lambda: [0, 1, 2], min_length=1)
    time_limit: float | None = Field(default=None, gt=0)  # seconds a cell may take (``run --time-limit``)

    _source: str = PrivateAttr("suite")
    _lines: dict = PrivateAttr(default_factory=dict)

    def where(self, *path: str | int) -> str:
        """``FILE:LINE`` of the suite entry at ``path`` (e.g. ``("samplers", 1)``)."""
        return f"{self._source}:{_line_of(self._lines, path)}"

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError("must contain only letters, digits, '_', '.' and '-'")
        if set(value) == {"."}:  # it names results/<name> and leaderboard/<name>: one folder of its own
            raise ValueError("must be a folder name other than '.' and '..'")
        return value

    @field_validator("budgets")
    @classmethod
    def _valid_budgets(cls, budgets: list[Budget] | None) -> list[Budget] | None:
        return _check_budgets(budgets)

    def budgets_of(self, d: int) -> tuple[list[Budget], tuple[str | int, ...]]:
        """The budgets of dataset ``d`` as written (its own, else the suite's) and their path
        in the suite (for ``where``); an error naming the dataset when neither gives any."""
        own = self.datasets[d].budgets
        if own is not None:
            return own, ("datasets", d, "budgets")
        if self.budgets is None:
            raise LbalError(f"{self.where('datasets', d)}: dataset '{self.datasets[d].display}' has no budgets: "
                            "give 'budgets' in the suite or in this dataset's entry")
        return self.budgets, ("budgets",)

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must not repeat")
        return seeds

    @field_validator("datasets", "backbones", "samplers", "evaluators")
    @classmethod
    def _unique_labels(cls, specs: list[PluginSpec]) -> list[PluginSpec]:
        shown = [spec.display for spec in specs]
        repeated = sorted({s for s in shown if shown.count(s) > 1})
        if repeated:
            raise ValueError(f"'{repeated[0]}' appears twice: give one a distinct 'label'")
        return specs


# --- loading -------------------------------------------------------------------------

Path_ = tuple[Union[str, int], ...]


MAX_VALUES = 100_000  # a suite is a few hundred values; aliases nested ten deep are a billion


def _bounded(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases expand to more than ``MAX_VALUES`` values (the
    "billion laughs"), before anything walks or copies it: sizes are counted once per
    node, so the check itself is linear in the file."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) not in sizes:
            sizes[id(node)] = 1  # a node that refers to itself counts once
            children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else (
                node.value if isinstance(node, yaml.SequenceNode) else [])
            sizes[id(node)] = 1 + sum(size(child) for child in children)
            if sizes[id(node)] > MAX_VALUES:
                raise LbalError(f"{source}:{node.start_mark.line + 1}: YAML aliases expand to more than "
                                f"{MAX_VALUES} values; write the suite out instead of nesting aliases")
        return sizes[id(node)]

    size(root)


def _index_lines(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str) -> None:
    """Record the line of every key and value; reject duplicate keys."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise LbalError(f"{source}:{line}: duplicate key '{key}' (first at line {seen[key]})")
            seen[key] = line
            lines[path + (key, "<key>")] = line
            _index_lines(value_node, path + (key,), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, path + (i,), lines, source)


def _line_of(lines: dict[Path_, int], path: Path_) -> int:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def _expand_env(value: Any, path: Path_, lines: dict, source: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, path + (k,), lines, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, path + (i,), lines, source) for i, v in enumerate(value)]
    if isinstance(value, str):

        def substitute(match: re.Match) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise LbalError(
                    f"{source}:{_line_of(lines, path)}: environment variable '{name}' is not set"
                )
            return os.environ[name]

        return ENV_VAR.sub(substitute, value)
    return value


def _model_at(path: Path_) -> type[BaseModel] | None:
    """The pydantic model that owns the mapping at ``path`` in a suite."""
    model: Any = Suite
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return None
        model = fields[part].annotation
        while typing.get_args(model):  # list[X] → X, X | None → X
            model = next(a for a in typing.get_args(model) if a is not type(None))
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "suite"


def _format_error(error: dict, lines: dict, source: str) -> str:
    # pydantic names the member of a union it tried (``InitialPool``, ``literal['none']``): not a key
    path: Path_ = tuple(p for p in error["loc"] if not (isinstance(p, str) and (p[:1].isupper() or "[" in p)))
    if error["type"] == "extra_forbidden":
        key, parent = path[-1], path[:-1]
        model = _model_at(parent)
        hint = did_you_mean(str(key), model.model_fields) if model else ""
        line = _line_of(lines, parent + (key, "<key>"))
        return f"{source}:{line}: unknown key '{key}' in {_dotted(parent)}{hint}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{source}:{_line_of(lines, path)}: {_dotted(path)}: {message}"


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite file; any problem raises ``LbalError`` naming file and line."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise LbalError(f"{source}:{line}: the suite file is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
                        "save it as UTF-8") from None
    except FileNotFoundError:
        raise LbalError(f"suite file not found: {source}") from None
    except OSError as exc:
        raise LbalError(f"cannot read suite file {source}: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = exc.problem or exc.context
        if exc.context and problem.startswith("but "):  # "expected a single document …, but found another"
            problem = f"{exc.context}, {problem}"
        raise LbalError(f"{where}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise LbalError(f"{source}: YAML syntax error: {exc}") from None
    if node is None:
        raise LbalError(f"{source}: the suite file is empty")
    _bounded(node, source)
    if not isinstance(data, dict):
        raise LbalError(f"{source}:1: a suite must be a mapping of keys like 'name', 'datasets', 'samplers'")
    lines: dict[Path_, int] = {}
    _index_lines(node, (), lines, source)
    data = _expand_env(data, (), lines, source)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        # unknown keys first: a misspelt key also shows up as a missing required field
        first = min(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise LbalError(_format_error(first, lines, source)) from None
    suite._source, suite._lines = source, lines
    return suite
