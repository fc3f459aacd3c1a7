#!/usr/bin/env python3
"""Samples of one or more models on the same prompts, as Markdown, for the model card: a
continuation, an infill of one sentence, and draft-then-revise of the continuation. Every model
runs at its own defaults (the settings the editor uses) with the same seed; prompts come from
fixed byte offsets of the validation files, so nothing is picked for quality.

usage: samples.py --bd3 build/bd3 --corpus .corpus [--seed 1] [--per-file 2] MODEL.gguf...
"""
import argparse
import lzma
import os
import re
import subprocess
import sys
import tempfile

FILES = ("wikipedia.valid.txt.xz", "gutenberg_modern.valid.txt.xz", "gutenberg_classic.valid.txt.xz")
PROMPT_BYTES = 600


def prompts_of(path, per_file):
    """`per_file` prompts of about PROMPT_BYTES, each starting at the first line after an offset
    of k/(per_file+1) of the file and cut after its last full sentence."""
    with lzma.open(path, "rb") as f:
        text = f.read().decode("utf-8")
    out = []
    for k in range(1, per_file + 1):
        at = text.index("\n", len(text) * k // (per_file + 1)) + 1
        while at < len(text) and text[at] == "\n":
            at += 1
        chunk = text[at:at + PROMPT_BYTES]
        ends = [m.end() for m in re.finditer(r"[.!?][\"')]?(?=\s)", chunk)]
        if ends and ends[-1] > PROMPT_BYTES // 2:
            chunk = chunk[:ends[-1]]
        out.append(chunk)
    return out


def sentence_span(text):
    """Byte range of the second sentence of text (the first one whole when there is no second)."""
    ends = [m.end() for m in re.finditer(r"[.!?][\"')]?\s+", text)]
    start = ends[0] if len(ends) > 1 else 0
    stop = ends[1] if len(ends) > 1 else (ends[0] if ends else len(text))
    stop = len(text[:stop].rstrip())
    b = text.encode("utf-8")
    return len(text[:start].encode("utf-8")), len(text[:stop].encode("utf-8")), b


def changed_middle(before, after):
    """The part of `after` between the longest prefix and suffix it shares with `before`."""
    p = 0
    while p < min(len(before), len(after)) and before[p] == after[p]:
        p += 1
    q = 0
    while q < min(len(before), len(after)) - p and before[-1 - q] == after[-1 - q]:
        q += 1
    return after[p:len(after) - q].decode("utf-8", "replace")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), r.stderr.decode("utf-8", "replace")))
    return r.stdout.decode("utf-8", "replace")


def quote(s):
    return "\n".join("> " + line if line else ">" for line in s.strip("\n").split("\n"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--bd3", default="build/bd3")
    ap.add_argument("--corpus", default=".corpus")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-file", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=48, help="continuation length in tokens")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    common = ["-q", "-t", str(a.threads), "--seed", str(a.seed)]
    names = [os.path.basename(m) for m in a.models]
    print("Seed %d for every sample; models at their own sampler defaults (the editor's settings)." % a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        n = 0
        for fname in FILES:
            for prompt in prompts_of(os.path.join(a.corpus, fname), a.per_file):
                n += 1
                pfile = os.path.join(tmp, "prompt.txt")
                with open(pfile, "w", encoding="utf-8") as f:
                    f.write(prompt)
                print("\n### %d. %s\n" % (n, fname.replace(".txt.xz", "")))
                print("Prompt:\n\n%s\n" % quote(prompt))
                start, stop, b = sentence_span(prompt)
                print("Infill of the span `%s` (its own length in tokens):\n"
                      % b[start:stop].decode("utf-8").replace("`", "'"))
                for m, name in zip(a.models, names):
                    out = run([a.bd3, "infill", "-m", m, "--range", "%d:%d" % (start, stop)] + common + [pfile])
                    print("- **%s**: %s" % (name, changed_middle(b, out.encode("utf-8")).replace("\n", " ")))
                print("\nContinuation (%d tokens), then the same draft revised (least confident share "
                      "remasked and drawn again):\n" % a.tokens)
                for m, name in zip(a.models, names):
                    cont = run([a.bd3, "generate", "-m", m, "-n", str(a.tokens)] + common + [pfile])
                    dfile = os.path.join(tmp, "draft.txt")
                    with open(dfile, "w", encoding="utf-8") as f:
                        f.write(prompt + cont)
                    pb = len(prompt.encode("utf-8"))
                    db = len((prompt + cont).encode("utf-8"))
                    rev = run([a.bd3, "revise", "-m", m, "--range", "%d:%d" % (pb, db)] + common + [dfile])
                    revised = rev.encode("utf-8")[pb:].decode("utf-8", "replace")
                    print("- **%s** draft: %s" % (name, cont.replace("\n", " ").strip()))
                    print("- **%s** revised: %s" % (name, revised.replace("\n", " ").strip()))
                print()


if __name__ == "__main__":
    main()
