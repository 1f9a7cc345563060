"""bot-bottle backend that runs each bottle in a smolvm microVM."""
