"""Talking to the GPU side: the endpoint client, the model families' dialects, output parsing."""
