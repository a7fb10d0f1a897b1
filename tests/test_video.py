"""Gymnasium's RecordVideo works on AlignGym envs with the `video` extra (moviepy)."""
import gymnasium as gym
from gymnasium.wrappers import RecordVideo

from aligngym.envs import registry

FIRST_WITH_FRAMES = next(r.id for r in registry.ROWS
                         if not r.multi_agent and "rgb_array" in r.load().metadata.get("render_modes", []))


def test_record_video_writes_an_mp4(tmp_path):
    env = RecordVideo(gym.make(FIRST_WITH_FRAMES, render_mode="rgb_array"), str(tmp_path),
                      episode_trigger=lambda episode: True, disable_logger=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(500):
        if any(env.step(env.action_space.sample())[2:4]):
            break
    env.close()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000
