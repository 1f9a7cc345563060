"""bot-bottle provider for Anthropic's Claude Code CLI (``claude``)."""
