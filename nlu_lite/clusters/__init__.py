"""Dask and Spark: the same predict() where the data lives, with one pipeline per worker process."""
