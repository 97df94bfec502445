"""Small random models with real tokenizers of each family, written as model folders: shared by
the tests of model folders (tests/hub/test_folder.py) and of the edges (tests/frames)."""

from __future__ import annotations

from pathlib import Path

from conftest import minilm_dir

CORPUS = [
    "I love NLP and transformers.",
    "Tokenization isn't trivial, New-York don't.",
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcode café naïve résumé.",
]


def _bpe_tokenizer():
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS * 20, vocab_size=400, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    return RobertaTokenizerFast(tokenizer_object=bpe._tokenizer)


def _unigram_tokenizer(kind: str):
    from tokenizers import SentencePieceUnigramTokenizer
    from transformers import AlbertTokenizerFast, XLNetTokenizerFast

    specials = ["<unk>", "<sep>", "<pad>", "<cls>", "<mask>", "<s>", "</s>"]
    if kind == "albert":
        specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
    sp = SentencePieceUnigramTokenizer()
    sp.train_from_iterator(CORPUS * 20, vocab_size=200, special_tokens=specials, unk_token="<unk>")
    cls = AlbertTokenizerFast if kind == "albert" else XLNetTokenizerFast
    return cls(tokenizer_object=sp._tokenizer)


def _write_family(folder: Path, family: str) -> None:
    """A small random model of ``family`` with a real tokenizer of its kind."""
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(1)
    small = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}
    if family in ("bert_uncased", "bert_cased"):
        from transformers import BertConfig, BertModel

        tok = AutoTokenizer.from_pretrained(minilm_dir(), do_lower_case=family == "bert_uncased")
        model = BertModel(BertConfig(vocab_size=30522, max_position_embeddings=64, **small))
    elif family == "roberta":
        from transformers import RobertaConfig, RobertaModel

        tok = _bpe_tokenizer()
        model = RobertaModel(RobertaConfig(vocab_size=len(tok), max_position_embeddings=66, pad_token_id=1, **small))
    elif family == "xlnet":
        from transformers import XLNetConfig, XLNetModel

        tok = _unigram_tokenizer("xlnet")
        model = XLNetModel(XLNetConfig(vocab_size=len(tok), d_model=32, n_layer=2, n_head=4, d_inner=64))
    else:
        from transformers import AlbertConfig, AlbertModel

        tok = _unigram_tokenizer("albert")
        model = AlbertModel(
            AlbertConfig(vocab_size=len(tok), embedding_size=16, max_position_embeddings=64, pad_token_id=0, **small)
        )
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
