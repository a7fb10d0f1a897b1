"""The converted-model cache: built once under a file lock, checked against its manifest, rebuilt if damaged.
The real conversion is replaced by a small fake here; test_llm_local_model.py covers the real one."""
import json
import shutil
import threading
import time

from aligngym.llm import default_model
from aligngym.llm.default_model import MANIFEST, default_model_dir, sha256_file


def fake_convert(calls):
    def convert(folder, progress):
        calls.append(folder)
        time.sleep(0.3)  # long enough for a racing builder to wait on the lock
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"weights" * 100)
        files = {"model.safetensors": {"size": 700, "sha256": sha256_file(folder / "model.safetensors")}}
        (folder / MANIFEST).write_text(json.dumps({"format_version": default_model.FORMAT_VERSION, "files": files}))
    return convert


def test_concurrent_first_loads_build_once(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNGYM_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(default_model, "_convert", fake_convert(calls))
    monkeypatch.setattr(default_model, "_verified", set())
    results = []
    threads = [threading.Thread(target=lambda: results.append(default_model_dir(progress=False))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1
    assert results[0] == tmp_path / "models" / default_model.MODEL_DIR_NAME


def test_damaged_copy_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGNGYM_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(default_model, "_convert", fake_convert(calls))
    monkeypatch.setattr(default_model, "_verified", set())
    folder = default_model_dir(progress=False)
    weights = folder / "model.safetensors"
    weights.write_bytes(b"X" + weights.read_bytes()[1:])  # same size, wrong checksum
    default_model._verified.clear()  # a new process
    assert default_model_dir(progress=False) == folder and len(calls) == 2
    assert weights.read_bytes() == b"weights" * 100
