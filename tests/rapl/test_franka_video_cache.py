"""The video cache's key: a changed simulator, robot package or env code never serves old videos."""
from __future__ import annotations

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo)
import mujoco

from aligngym.benchmarks.rapl import franka_video_cache
from aligngym.benchmarks.rapl.franka_video_cache import cache_key, code_hash, renderer_versions

CODE = 'def f(x):\n    """Doubles."""\n    return 2 * x  # twice\n'


def test_the_code_hash_sees_code_not_docstrings_or_comments():
    assert code_hash([CODE]) == code_hash(['def f(x):\n    """Twice x."""\n\n    return 2*x\n'])
    assert code_hash([CODE]) != code_hash([CODE.replace("2 * x", "3 * x")])


def test_the_key_holds_the_versions_and_the_env_code(monkeypatch):
    versions = renderer_versions()
    assert versions["mujoco"] == mujoco.__version__ and versions["gymnasium_robotics"] and versions["env_code"]
    key = cache_key("AlignGym/RaplFrankaGroup-v0", {}, "expert0.3-v3", 0)
    for name in versions:
        monkeypatch.setattr(franka_video_cache, "renderer_versions", lambda n=name: {**versions, n: "other"})
        assert cache_key("AlignGym/RaplFrankaGroup-v0", {}, "expert0.3-v3", 0) != key, name
