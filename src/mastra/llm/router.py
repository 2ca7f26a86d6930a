"""``get_model("provider/model")``: one string picks the provider, its URL and its key."""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from mastra.errors import ValidationError
from mastra.llm.anthropic import AnthropicModel
from mastra.llm.base import CachedModel, LanguageModel
from mastra.llm.google import GoogleModel
from mastra.llm.openai import OpenAIChatModel
from mastra.plugins import load, names

if TYPE_CHECKING:
    from mastra.llm.fallback import FallbackModel

__all__ = ["PROVIDERS", "OpenAICompatible", "get_model"]


class OpenAICompatible(msgspec.Struct, frozen=True):
    """Where an OpenAI-compatible provider lives and which variables hold its key."""

    base_url: str
    key_env: tuple[str, ...] = ()
    key_required: bool = True
    max_tokens_field: str = "max_tokens"


PROVIDERS: dict[str, OpenAICompatible] = {
    "openai": OpenAICompatible(
        "https://api.openai.com/v1", ("OPENAI_API_KEY",), max_tokens_field="max_completion_tokens"
    ),
    "groq": OpenAICompatible("https://api.groq.com/openai/v1", ("GROQ_API_KEY",)),
    "deepseek": OpenAICompatible("https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY",)),
    "openrouter": OpenAICompatible("https://openrouter.ai/api/v1", ("OPENROUTER_API_KEY",)),
    "together": OpenAICompatible(
        "https://api.together.xyz/v1", ("TOGETHER_API_KEY", "TOGETHER_AI_API_KEY")
    ),
    "mistral": OpenAICompatible("https://api.mistral.ai/v1", ("MISTRAL_API_KEY",)),
    "xai": OpenAICompatible("https://api.x.ai/v1", ("XAI_API_KEY",)),
    "ollama": OpenAICompatible("http://localhost:11434/v1", ("OLLAMA_API_KEY",), False),
    "vllm": OpenAICompatible("http://localhost:8000/v1", ("VLLM_API_KEY",), False),
    "lmstudio": OpenAICompatible("http://localhost:1234/v1", ("LMSTUDIO_API_KEY",), False),
}
NATIVE = ("anthropic", "google")
# Base-URL variables the providers' own SDKs read, after ``<PROVIDER>_BASE_URL``.
SDK_BASE_URL_ENV: dict[str, tuple[str, ...]] = {"google": ("GOOGLE_GEMINI_BASE_URL",)}


def _base_url_from_env(provider: str) -> str | None:
    names = (f"{provider.upper().replace('-', '_')}_BASE_URL", *SDK_BASE_URL_ENV.get(provider, ()))
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def get_model(
    name: str | Sequence[str],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    cache: MutableMapping[str, Any] | None = None,
    **options: Any,
) -> LanguageModel:
    """The model ``"provider/model"`` names.

    Providers: ``openai``, ``anthropic``, ``google``, ``groq``, ``deepseek``, ``openrouter``,
    ``together``, ``mistral``, ``xai``, ``ollama``, ``vllm``, ``lmstudio``, and those installed
    plugins add (the ``mastra.providers`` entry points, called as
    ``factory(model, api_key=..., **options)``); any other provider name with ``base_url=``
    is taken as an OpenAI-compatible server. The model part may hold
    slashes (``openrouter/meta-llama/llama-3.3-70b``). Keys come from ``api_key=`` or the
    provider's usual environment variables, read at the first call; ``<PROVIDER>_BASE_URL``
    (``OPENAI_BASE_URL`` ...; also ``GOOGLE_GEMINI_BASE_URL``) overrides the default URL when
    ``base_url=`` is not given. Anthropic and Google URLs may leave the API version out, as
    their SDKs expect (``ANTHROPIC_BASE_URL=http://proxy:8080`` means ``.../v1``).
    ``cache=`` (a ``TTLCache`` say) answers repeated non-streaming requests from the cache.
    Other keyword arguments go to the provider class (``timeouts=``, ``retry=`` ...).
    A list of names is a :class:`~mastra.llm.FallbackModel` over them.
    """
    if not isinstance(name, str):
        return _fallback(name)
    provider, slash, model = name.partition("/")
    if not slash or not provider or not model:
        raise ValidationError(
            f"model {name!r} should look like 'provider/model', e.g. 'openai/gpt-4o-mini'"
        )
    base_url = base_url or _base_url_from_env(provider)
    chosen: LanguageModel
    if base_url:
        options["base_url"] = base_url
    plugin = None if provider in (*PROVIDERS, *NATIVE) else load("providers", provider)
    if provider == "anthropic":
        chosen = AnthropicModel(model, api_key=api_key, **options)
    elif provider == "google":
        chosen = GoogleModel(model, api_key=api_key, **options)
    elif plugin is not None:
        chosen = plugin(model, api_key=api_key, **options)
    elif provider in PROVIDERS or base_url:
        spec = PROVIDERS.get(provider) or OpenAICompatible(
            base_url or "", (f"{provider.upper().replace('-', '_')}_API_KEY",), False
        )
        options.setdefault("base_url", spec.base_url)
        chosen = OpenAIChatModel(
            model,
            api_key=api_key,
            provider=provider,
            api_key_env=spec.key_env,
            key_required=spec.key_required,
            max_tokens_field=spec.max_tokens_field,
            **options,
        )
    else:
        known = ", ".join(sorted([*PROVIDERS, *NATIVE, *names("providers")]))
        raise ValidationError(
            f"unknown provider {provider!r} in {name!r}; known providers: {known} "
            "(or pass base_url= for any OpenAI-compatible server)"
        )
    return CachedModel(chosen, cache) if cache is not None else chosen


def _fallback(names: Sequence[str]) -> FallbackModel:
    from mastra.llm.fallback import FallbackModel

    return FallbackModel(list(names))
