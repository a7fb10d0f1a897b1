"""Maps the top-level folders onto subpackages of `aligngym` (see pyproject.toml for everything else)."""
from setuptools import find_packages, setup

ROOTS = {
    "aligngym": "aligngym",
    "aligngym.envs": "envs",
    "aligngym.agents": "agents",
    "aligngym.benchmarks": "benchmarks",
    "aligngym.leaderboard": "leaderboard",
}
packages = [f"{name}.{sub}" if sub else name
            for name, folder in ROOTS.items() for sub in ["", *find_packages(folder)]]
setup(packages=packages, package_dir=ROOTS)
