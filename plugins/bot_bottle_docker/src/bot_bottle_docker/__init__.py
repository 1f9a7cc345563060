"""bot-bottle backend that runs bottles as Docker containers."""
