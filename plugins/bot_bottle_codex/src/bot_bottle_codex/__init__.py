"""bot-bottle provider for OpenAI's Codex CLI (``codex``)."""
