"""ldpy.util's array helpers against the numpy functions they stand in for."""
import numpy as np

from ldpy.util import isin, unique


def test_isin_agrees_with_numpy():
    rng = np.random.default_rng(7)
    for _ in range(300):
        a = rng.integers(-5, 60, rng.integers(0, 50))
        b = rng.integers(-5, 60, rng.integers(0, 12))
        got, want = isin(a, b), np.isin(a, b)
        assert got.shape == want.shape and (got == want).all()
    keys = np.arange(20, dtype=np.uint32)
    assert (isin(keys, (3, 19, 40)) == np.isin(keys, (3, 19, 40))).all()
    assert bool(isin(7, np.array([1, 7]))) and not bool(isin(8, np.array([1, 7])))
    assert not isin(np.arange(4), np.zeros(0, np.int64)).any()
    assert isin(np.arange(6).reshape(2, 3), [4]).shape == (2, 3)
    big = np.array([2**63 + 1, 5], np.uint64)
    assert isin(big, np.array([5, -1], np.int64)).tolist() == [False, True]


def test_isin_needs_no_masked_arrays():
    # np.isin imports numpy.ma (5 ms of start-up); ldpy's must not
    import subprocess
    import sys
    # (a wide range of test values: numpy sorts, through np.unique)
    code = ("import sys, numpy as np; from ldpy.util import isin; "
            "print(isin(np.arange(10), np.arange(0, 10**11, 10**9)).sum(), 'numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["1", "False"]


def test_unique_agrees_with_numpy():
    rng = np.random.default_rng(8)
    for _ in range(100):
        a = rng.integers(0, 30, rng.integers(0, 40))
        assert (unique(a) == np.unique(a)).all()
