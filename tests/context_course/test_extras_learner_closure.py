"""The learner install does not grow back: what `pip install` of the base pulls, checked offline.

The closure of the base dependencies is walked through the installed distributions' own
metadata (``importlib.metadata``), markers evaluated for this machine, as pip resolves it.
JupyterLab with the kernel and the widgets is the floor (about 245 MB of the ~290 the README
states); beyond it the learner gets only the packages named in ``LEARNER_OWN``.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]

#: What learners need JupyterLab for: the notebooks, the kernel, the Check my work widgets.
FLOOR = ("jupyterlab", "ipykernel", "ipywidgets")

#: The learner's own direct dependencies beyond the floor, and why.
LEARNER_OWN = {
    "orjson": "the library's JSON",
    "pyyaml": "the library's YAML recipes",
    "typer": "the command line",
    "rich": "the command line's tables",
    "nbformat": "reading notebooks for check and submit",
    "jsonschema": "recipe parameters, notebook validation",
    "cryptography": "notebook 08 (AES-GCM encryption at rest)",
}

#: Packages only instructors, certificate issuers, the cluster, the service or the hub use.
NOT_FOR_LEARNERS = (
    "nbgrader",
    "alembic",
    "sqlalchemy",
    "hatchling",
    "nh3",
    "confusable-homoglyphs",
    "weasyprint",
    "pypdf",
    "pyld",
    "joserfc",
    "qrcode",
    "pillow",
    "dask",
    "distributed",
    "psycopg",
    "starlette",
    "uvicorn",
    "redis",
    "jupyterhub",
)


def _project() -> dict[str, object]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project: dict[str, object] = tomllib.loads(text)["project"]
    return project


def _closure(requirements: list[str]) -> set[str]:
    """Every distribution pip installs for ``requirements`` (with their requested extras)."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, tuple(sorted(requirement.extras)))
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.distribution(name).requires or []:
            dependency = Requirement(text)
            wanted = ("", *requirement.extras)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({"extra": extra}) for extra in wanted):
                dependency.marker = None
                todo.append(dependency)
    return {name for name, _ in seen}


def _base() -> list[str]:
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    return [str(d) for d in dependencies]


def test_the_base_names_only_the_floor_and_the_learners_own_packages() -> None:
    named = {canonicalize_name(Requirement(r).name) for r in _base()}
    extra = named - {canonicalize_name(n) for n in (*FLOOR, *LEARNER_OWN)}
    assert not extra, (
        f"new base dependencies {sorted(extra)}: every learner installs them; make them an "
        "extra, or add them to LEARNER_OWN with the reason and re-measure the README's size"
    )


def test_the_learner_closure_is_the_floor_plus_the_learners_own_packages() -> None:
    allowed = _closure([*FLOOR, *LEARNER_OWN])
    pulled = _closure(_base())
    assert pulled - allowed == set()
    assert {canonicalize_name(n) for n in FLOOR} <= pulled


def test_no_instructor_certificate_cluster_service_or_hub_package_reaches_learners() -> None:
    pulled = _closure(_base())
    assert sorted(pulled & {canonicalize_name(n) for n in NOT_FOR_LEARNERS}) == []
    everything = _closure(["context-course[all]"])
    assert {canonicalize_name(n) for n in NOT_FOR_LEARNERS} <= everything, (
        "NOT_FOR_LEARNERS names a package no extra installs any more: keep the list true"
    )
