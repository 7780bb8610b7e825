"""The assistant: chat replies and drafted scripts.

Replies come from a language model behind an OpenAI-compatible chat-completions API (LLM_BASE_URL,
LLM_API_KEY, LLM_MODEL); without one, chat replies are refused and scripts are drafted from a
deterministic template.
"""
