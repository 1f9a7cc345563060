"""bot-bottle git host plugin: per-bottle deploy keys on Gitea."""
