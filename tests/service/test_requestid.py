"""Which X-Request-ID values are echoed (service.requestid)."""

from __future__ import annotations

import pytest

from service.requestid import MAX_LENGTH, accept_request_id, new_request_id


@pytest.mark.parametrize(
    "value", ["a", "0af7651916cd43dd8448eb211c80319c", "svc:checkout/42", "a.b_c~d@e+f=g-h", "x" * MAX_LENGTH]
)
def test_safe_ids_are_kept(value: str) -> None:
    assert accept_request_id(value) == value
    assert accept_request_id(value.encode()) == value


@pytest.mark.parametrize(
    "value",
    [None, "", " ", "a b", "x" * (MAX_LENGTH + 1), "line\nbreak", "<script>", 'q"uote', "caf\u00e9", b"\xff\xfe"],
)
def test_unsafe_or_missing_ids_are_replaced_by_a_new_one(value: str | bytes | None) -> None:
    replaced = accept_request_id(value)
    assert replaced != value and len(replaced) == 32 and int(replaced, 16) >= 0


def test_new_ids_do_not_repeat() -> None:
    assert len({new_request_id() for _ in range(1000)}) == 1000
