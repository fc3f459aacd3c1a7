# data.py: corpus reading, tokenizers (byte-level BPE trained with HF `tokenizers`, or a byte
# vocabulary with no merges for the toy configuration) and token-stream preparation.
# Depends on numpy and the standard library; HF `tokenizers` only for the BPE tokenizer.
import json
import lzma
import os

import numpy as np

EOS = "<|endoftext|>"
MASK = "<|mask|>"


def bytes_to_unicode():
    """GPT-2's byte -> printable character map (the 'mapped form' of vocab.json)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def read_text(path, max_bytes=None):
    """UTF-8 text of a corpus file (.xz or plain), optionally only its first max_bytes bytes."""
    opener = lzma.open if path.endswith(".xz") else open
    with opener(path, "rb") as f:
        raw = f.read() if max_bytes is None else f.read(max_bytes)
    return raw.decode("utf-8", errors="ignore")


def corpus_files(corpus_dir, split):
    """Sorted corpus files of a split ('train' or 'valid')."""
    return sorted(os.path.join(corpus_dir, f) for f in os.listdir(corpus_dir)
                  if ".%s." % split in f and (f.endswith(".txt") or f.endswith(".txt.xz")))


def split_docs(text):
    """Pieces between <|endoftext|> markers; encode(piece) + [eos] + ... reproduces the stream."""
    return text.split(EOS)


class ByteTokenizer:
    """256 byte tokens + <|endoftext|>, no merges (toy configuration; needs no HF package)."""

    def __init__(self):
        m = bytes_to_unicode()
        self.tokens = [m[b] for b in range(256)] + [EOS]   # id -> mapped string
        self.merges = []                                    # "left right", none
        self.eos_id = 256

    def encode_docs(self, pieces):
        out = []
        for i, p in enumerate(pieces):
            if i:
                out.append(np.array([self.eos_id], dtype=np.int64))
            out.append(np.frombuffer(p.encode("utf-8"), dtype=np.uint8).astype(np.int64))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def decode(self, ids):
        b = bytearray()
        for i in ids:
            i = int(i)
            if i < 256:
                b.append(i)
            elif i == self.eos_id:
                b += EOS.encode()
        return b.decode("utf-8", errors="replace")


class BPETokenizer:
    """A HF `tokenizers` ByteLevel BPE tokenizer saved as JSON (GPT-2 pre-tokenisation)."""

    def __init__(self, path):
        from tokenizers import Tokenizer
        self.tok = Tokenizer.from_file(path)
        with open(path, encoding="utf-8") as f:
            js = json.load(f)
        vocab = js["model"]["vocab"]
        self.tokens = [None] * len(vocab)
        for s, i in vocab.items():
            self.tokens[i] = s
        for a in js.get("added_tokens", []):
            if a["id"] < len(self.tokens):
                self.tokens[a["id"]] = a["content"]
        assert all(t is not None for t in self.tokens), "vocabulary ids are not contiguous"
        self.merges = [m if isinstance(m, str) else " ".join(m) for m in js["model"]["merges"]]
        self.eos_id = self.tokens.index(EOS)

    def encode_docs(self, pieces):
        encs = self.tok.encode_batch(pieces, add_special_tokens=False)
        out = []
        for i, e in enumerate(encs):
            if i:
                out.append(np.array([self.eos_id], dtype=np.int64))
            out.append(np.asarray(e.ids, dtype=np.int64))
        return np.concatenate(out)

    def decode(self, ids):
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=False)


def train_bpe(train_files, vocab_size, out_path):
    """Trains a ByteLevel BPE of vocab_size ids (<|endoftext|> included) on train_files."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  min_frequency=2, show_progress=False)

    def docs():
        for f in train_files:
            for d in split_docs(read_text(f)):
                yield d
    tok.train_from_iterator(docs(), trainer)
    tok.save(out_path)
    return BPETokenizer(out_path)


def token_byte_lengths(tokens):
    """Bytes of text each id stands for (numpy int64 [n]), from the mapped-form vocabulary; special
    tokens such as <|endoftext|> count their literal text, as the corpus files hold them."""
    inv = {c: b for b, c in bytes_to_unicode().items()}
    out = np.zeros(len(tokens), dtype=np.int64)
    for i, t in enumerate(tokens):
        out[i] = len(t.encode("utf-8")) if t == EOS or any(c not in inv for c in t) else len(t)
    return out


def load_tokenizer(spec):
    """'bytes' -> ByteTokenizer, else the path of a tokenizer JSON."""
    return ByteTokenizer() if spec == "bytes" else BPETokenizer(spec)


def tokenize_file(tok, path, max_bytes=None):
    """Token ids (uint16) of a whole corpus file."""
    ids = tok.encode_docs(split_docs(read_text(path, max_bytes)))
    assert ids.max() < 65536
    return ids.astype(np.uint16)


def prepare(tok, corpus_dir, out_dir, max_bytes=None, log=print):
    """Writes out_dir/train.bin (all train files concatenated, eos between files) and
    out_dir/NAME.valid.bin per validation file; returns their token counts."""
    os.makedirs(out_dir, exist_ok=True)
    counts = {}
    parts = []
    for f in corpus_files(corpus_dir, "train"):
        ids = tokenize_file(tok, f, max_bytes)
        log("tokenized %s: %d tokens" % (os.path.basename(f), len(ids)))
        parts.append(ids)
        parts.append(np.array([tok.eos_id], dtype=np.uint16))
    train = np.concatenate(parts)
    train.tofile(os.path.join(out_dir, "train.bin"))
    counts["train"] = len(train)
    for f in corpus_files(corpus_dir, "valid"):
        name = os.path.basename(f).split(".valid")[0]
        ids = tokenize_file(tok, f, max_bytes)
        ids.tofile(os.path.join(out_dir, name + ".valid.bin"))
        counts[name] = len(ids)
        log("tokenized %s: %d tokens (%d bytes of text)" % (os.path.basename(f), len(ids),
                                                           len(read_text(f, max_bytes).encode())))
    with open(os.path.join(out_dir, "counts.json"), "w") as fo:
        json.dump(counts, fo)
    return counts


def load_tokens(path):
    return np.fromfile(path, dtype=np.uint16)
