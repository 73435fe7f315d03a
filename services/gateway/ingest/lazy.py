"""A value worked out on first use and kept on its instance: `functools.cached_property` without the lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class once(Generic[T]):
    """As `cached_property`, less Python 3.11's lock, which it takes on every first use (four times a
    single-read camera post, a few percent of its gateway CPU). A vendor body and a payload builder belong to
    one request, read by one task, so nothing races to compute the value; a computation that raises is
    retried on the next use, as cached_property's is."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | once[T]:
        if instance is None:
            return self
        # a non-data descriptor: once stored, the instance's own attribute is found first
        value = instance.__dict__[self.name] = self.compute(instance)
        return value
