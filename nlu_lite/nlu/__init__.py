"""John Snow Labs NLU compatibility: NLU 5's output layout, Spark NLP's default tokenizer, and
the NLU functions and attributes nlu_lite answers with a pointer to its own."""
