"""Where models come from, as torch.hub and the Hugging Face hub are for theirs: which model a
name means (the YAML registry), where its files are (one source order: a local folder, an
installed package, the hub's disk cache, a download), the facts of each model family, loading a
tokenizer and a model from a folder, the lock file that freezes tracked revisions, saving a
pipeline, and browsing the catalogue."""
