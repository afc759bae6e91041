"""Options declared in annotations (``lbal_bench.registry``): a dataclass plugin's
inherited fields keep the ranges of the module that declared them."""

from __future__ import annotations

import textwrap

import pytest

from lbal_bench import LbalError
from lbal_bench.registry import build, options_of


@pytest.fixture
def subclass(tmp_path, monkeypatch):
    """A dataclass sampler whose options come from a base class in another module, which
    imports none of the annotation's names itself."""
    (tmp_path / "declared_base.py").write_text(textwrap.dedent('''
        from __future__ import annotations
        from dataclasses import dataclass
        from typing import Annotated, Literal
        from annotated_types import Ge

        @dataclass(frozen=True)
        class Base:
            niter: Annotated[int, Ge(1)] = 20
            mode: Literal["a", "b"] | None = None
    '''))
    (tmp_path / "declared_sub.py").write_text(textwrap.dedent('''
        from __future__ import annotations
        from dataclasses import dataclass
        from declared_base import Base

        @dataclass(frozen=True)
        class Sub(Base):
            k: int = 3
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    from declared_sub import Sub

    return Sub


def test_inherited_options_are_listed_with_their_ranges(subclass):
    assert [o.describe() for o in options_of(subclass)] == [
        {"name": "niter", "type": "int", "range": ">= 1", "default": 20, "required": False},
        {"name": "mode", "type": "'a' | 'b' | None", "range": None, "default": None, "required": False},
        {"name": "k", "type": "int", "range": None, "default": 3, "required": False},
    ]


@pytest.mark.parametrize("options, message", [
    ({"niter": 0}, "sampler 'sub': option 'niter' must be int (>= 1), got 0"),
    ({"mode": "c"}, "sampler 'sub': option 'mode' must be 'a' | 'b' | None, got 'c'"),
    ({"k": "3"}, "sampler 'sub': option 'k' must be int, got '3'"),
])
def test_inherited_options_are_checked(subclass, options, message):
    with pytest.raises(LbalError) as refused:
        build("sampler 'sub'", subclass, options)
    assert str(refused.value) == message
    assert build("sampler 'sub'", subclass, {"niter": 1, "mode": "b"}).niter == 1
