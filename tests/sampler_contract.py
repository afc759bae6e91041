"""Shared helpers for sampler tests: the pools and contract checks of the third-party
kit, :mod:`lbal_bench.testing`, so the reference samplers are held to the same checks."""

from lbal_bench.testing import assert_valid, blobs, check_contract, contract_cases, make_sampler, pool_of

__all__ = ["assert_valid", "blobs", "check_contract", "contract_cases", "make_sampler", "pool_of"]
