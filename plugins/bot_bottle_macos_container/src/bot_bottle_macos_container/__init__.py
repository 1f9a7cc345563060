"""bot-bottle backend for Apple's ``container`` CLI on macOS (each container a lightweight VM)."""
