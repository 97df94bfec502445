"""DataFrames and files: whatever predict() is handed read into texts, rows assembled into a
DataFrame with float32 vector columns, files written atomically, resumable parquet."""
