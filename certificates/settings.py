"""The ``[certificates]`` settings of ``course.toml``, typed, with safe defaults.

::

    [certificates]
    issuer_url = "https://courses.example.org/context"  # where you serve `context-course publish`
    issuer_name = "Context Course"
    issuer_email = ""       # optional contact shown in the issuer profile
    key_dir = ""            # empty = $XDG_CONFIG_HOME/context-course/issuer
    status_list_days = 30   # a published revocation list is current for this many days
    demo = false            # true only in the folder `context-course demo` writes

    [certificates.levels]   # the level policy, see certificates.policy

The issuer's identity is the ``did:web`` derived from ``issuer_url``
(:func:`certificates.issuer.did_from_url`). ``issuer_id`` is read as an old name of
``issuer_url``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from certificates.errors import PolicyError
from certificates.inputs import CourseConfig
from certificates.issuer import did_from_url
from certificates.keys import KeyStore, default_key_dir
from certificates.policy import LevelPolicy

__all__ = ["PLACEHOLDER_ISSUER_URL", "CertificateSettings"]

PLACEHOLDER_ISSUER_URL = "https://context-course.example/issuer"
DEFAULT_ISSUER_NAME = "Context Course"
DEFAULT_STATUS_LIST_DAYS = 30


@dataclass(frozen=True)
class CertificateSettings:
    """Everything issuing needs to know about the course and its issuer."""

    issuer_url: str
    issuer_name: str
    key_dir: Path
    course_id: str
    course_name: str
    course_version: str
    policy: LevelPolicy
    output_dir: Path
    site_dir: Path | None = None
    issuer_email: str = ""
    status_list_days: int = DEFAULT_STATUS_LIST_DAYS
    demo: bool = False

    @property
    def issuer_did(self) -> str:
        """The issuer's ``did:web``, derived from :attr:`issuer_url`."""
        return did_from_url(self.issuer_url)

    @property
    def is_placeholder(self) -> bool:
        """Whether the issuer URL is still the shipped placeholder (it resolves nowhere)."""
        return self.issuer_url.rstrip("/") == PLACEHOLDER_ISSUER_URL

    @property
    def published_site(self) -> Path:
        """Where ``context-course publish`` writes the issuer site by default."""
        return self.site_dir or self.output_dir.parent / "site"

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
        url = str(section.get("issuer_url") or section.get("issuer_id") or PLACEHOLDER_ISSUER_URL)
        did_from_url(url)  # refuses what is not an https URL a did:web can name
        days = section.get("status_list_days", DEFAULT_STATUS_LIST_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 366:
            raise PolicyError(
                f"[certificates] status_list_days must be a whole number of days from 1 to 366, "
                f"not {days!r}"
            )
        demo = section.get("demo", False)
        if not isinstance(demo, bool):
            raise PolicyError(f"[certificates] demo must be true or false, not {demo!r}")
        return cls(
            issuer_url=url.rstrip("/"),
            issuer_name=str(section.get("issuer_name") or DEFAULT_ISSUER_NAME),
            key_dir=default_key_dir(str(section.get("key_dir") or ""), course.root),
            course_id=str(course.id),
            course_name=str(course.name),
            course_version=str(course.version),
            policy=LevelPolicy.from_course(raw),
            output_dir=out_dir or course.output_dir / "certificates",
            site_dir=course.output_dir / "site",
            issuer_email=str(section.get("issuer_email") or ""),
            status_list_days=days,
            demo=demo,
        )
