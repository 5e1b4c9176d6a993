"""Our TileLang backend keeps fn's bf16 split per fn tensor (a weight): the cache must never serve a
split of other values. Runs on the CPU: the split launch is replaced by its torch contract."""

import gc

import pytest
import torch

from mhc_kernels.tilelang import gemm
from mhc_kernels.tilelang.backend import TileLangBackend, TileLangNarrowTiles


@pytest.fixture
def splits(monkeypatch):
    calls = []

    def fake_split(fn, target):
        calls.append(fn.data_ptr())
        return gemm.split_fn_reference(fn)

    monkeypatch.setattr(gemm, "split_fn", fake_split)
    monkeypatch.setattr(TileLangBackend, "_target", staticmethod(lambda: None))
    return calls


def test_same_unmodified_fn_is_split_once(splits):
    backend = TileLangBackend()
    fn = torch.randn(24, 256)
    first = backend._split_fn(fn)
    assert backend._split_fn(fn) is first and len(splits) == 1
    assert torch.equal(first, gemm.split_fn_reference(fn))


def test_in_place_change_of_fn_is_split_again(splits):
    backend = TileLangBackend()
    fn = torch.randn(24, 256)
    backend._split_fn(fn)
    fn.mul_(3)  # bumps the version counter
    again = backend._split_fn(fn)
    assert len(splits) == 2 and torch.equal(again, gemm.split_fn_reference(fn))


def test_entry_dies_with_its_fn_and_a_new_tensor_is_split(splits):
    backend = TileLangBackend()
    fn = torch.randn(24, 256)
    backend._split_fn(fn)
    del fn
    gc.collect()
    assert backend._fn3 == {}
    other = torch.randn(24, 256)  # may reuse the freed id and storage: must still be split
    assert torch.equal(backend._split_fn(other), gemm.split_fn_reference(other)) and len(splits) == 2


def test_inference_tensors_and_the_narrow_variant_split_every_call(splits):
    with torch.inference_mode():
        fn = torch.randn(24, 256)
    backend = TileLangBackend()
    backend._split_fn(fn)
    backend._split_fn(fn)
    narrow = TileLangNarrowTiles()
    plain = torch.randn(24, 256)
    narrow._split_fn(plain)
    narrow._split_fn(plain)
    assert len(splits) == 4 and backend._fn3 == {} and narrow._fn3 == {}
