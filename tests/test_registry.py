import pytest

from benchmark.errors import UnknownNameError
from benchmark.registry import Registry


def test_lazy_entry_is_imported_on_first_use():
    registry = Registry("thing")
    registry.register("join", "os.path:join", description="joins paths")
    import os.path

    assert registry.get("join") is os.path.join
    assert registry.describe("join") == "joins paths"


def test_decorator_and_duplicate_name():
    registry = Registry("thing")

    @registry.register("a")
    def a():
        """First line of the doc."""

    assert registry.get("a") is a
    assert registry.describe("a") == "First line of the doc."
    with pytest.raises(ValueError, match="already registered; choose another name"):
        registry.register("a", a)


def test_unknown_name_lists_the_valid_ones():
    registry = Registry("strategy")
    registry.register("random", object())
    registry.register("dm", object())
    with pytest.raises(UnknownNameError) as error:
        registry.get("nope")
    assert str(error.value) == "Unknown strategy 'nope'. Available: dm, random."
