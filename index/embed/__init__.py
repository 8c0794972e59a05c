"""Embedding models: sentence-transformers and the ONNX encoders exported beside an index."""
