"""The ``[certificates]`` settings of ``course.toml``, typed, with safe defaults.

::

    [certificates]
    issuer_id = "https://context-course.example/issuer"   # the issuer's URL (its id)
    issuer_name = "Context Course"
    key_dir = ""            # empty = $XDG_CONFIG_HOME/context-course/issuer

    [certificates.levels]   # the level policy, see certificates.policy
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from certificates.errors import PolicyError
from certificates.inputs import CourseConfig
from certificates.keys import KeyStore, default_key_dir
from certificates.policy import LevelPolicy

__all__ = ["CertificateSettings"]

DEFAULT_ISSUER_ID = "https://context-course.example/issuer"
DEFAULT_ISSUER_NAME = "Context Course"


@dataclass(frozen=True)
class CertificateSettings:
    """Everything issuing needs to know about the course and its issuer."""

    issuer_id: str
    issuer_name: str
    key_dir: Path
    course_id: str
    course_name: str
    course_version: str
    policy: LevelPolicy
    output_dir: Path

    @property
    def keystore(self) -> KeyStore:
        """The issuer's key folder."""
        return KeyStore(self.key_dir)

    @classmethod
    def from_course(
        cls, course: CourseConfig, *, out_dir: Path | None = None
    ) -> CertificateSettings:
        """Settings from a loaded course.toml (the product passes the grader's ``Course``)."""
        raw = course.raw
        section = raw.get("certificates", {})
        if not isinstance(section, Mapping):
            raise PolicyError("[certificates] in course.toml must be a table")
        issuer_id = str(section.get("issuer_id") or DEFAULT_ISSUER_ID)
        if not issuer_id.startswith(("https://", "http://")):
            raise PolicyError(f"[certificates] issuer_id must be a URL, not {issuer_id!r}")
        return cls(
            issuer_id=issuer_id,
            issuer_name=str(section.get("issuer_name") or DEFAULT_ISSUER_NAME),
            key_dir=default_key_dir(str(section.get("key_dir") or ""), course.root),
            course_id=str(course.id),
            course_name=str(course.name),
            course_version=str(course.version),
            policy=LevelPolicy.from_course(raw),
            output_dir=out_dir or course.output_dir / "certificates",
        )
