"""The GPU side: serving a prover with vLLM (optional extra ``gpu``)."""
