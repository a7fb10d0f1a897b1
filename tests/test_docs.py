"""The docs follow the registry: the README's env table lists every id, and every family with ids has its page."""
from pathlib import Path

from aligngym.agents.spec import BASELINES, resolve
from aligngym.envs import registry

ROOT = Path(__file__).resolve().parents[1]


def test_readme_lists_every_registered_id():
    readme = (ROOT / "README.md").read_text()
    missing = [r.id for r in registry.ROWS if f"`{r.id}`" not in readme]
    assert not missing, f"README env table is stale (regenerate with `aligngym list --markdown`): {missing}"


def test_every_family_with_ids_has_a_docs_page():
    for family in {r.family for r in registry.ROWS}:
        assert (ROOT / "docs" / f"{family}.md").exists(), f"docs/{family}.md is missing"


def test_every_baseline_resolves():
    for name in BASELINES:
        resolve(name)  # raises ValueError naming the module or factory that is missing
