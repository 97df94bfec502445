"""What a model is used for: each task says which head it loads, which output levels it has and
how the forward's outputs become rows and columns.  Embeddings are the first task."""
