"""The compute engine: texts into word pieces and model windows, length-sorted batches, the
forward pass (the transformers runner and the fused CPU runner behind one interface), devices
and precision, and pooling of what the forward returns."""
