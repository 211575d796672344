from __future__ import annotations

import context_lib.service as service
from context_lib import ContextError


def test_public_names_are_sorted_documented_and_errors_share_one_root() -> None:
    assert service.__all__ == sorted(service.__all__, key=lambda n: (n[0].islower(), n))
    for name in service.__all__:
        assert getattr(service, name).__doc__, name
    errors = [getattr(service, n) for n in service.__all__ if n.endswith("Error")]
    assert all(issubclass(e, service.ServiceError) for e in errors)
    assert issubclass(service.ServiceError, ContextError)
    codes = [e.code for e in errors if e is not service.ServiceError]
    assert len(codes) == len(set(codes))  # stable, distinct codes
