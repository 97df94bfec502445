#!/usr/bin/env python3
"""Map the JSL model names behind NLU 5.4.1's en/xx embedding spellings to the
Hugging Face repositories named in John Snow Labs' own model cards
(JohnSnowLabs/spark-nlp, docs/_posts/**.md).

Usage:
    python extract_cards.py GIT_DIR [GIT_DIR ...] [--supplement FILE]
                            [--spellbook FILE] [--out FILE]

GIT_DIR      git directory (bare or .git) of a JohnSnowLabs/spark-nlp snapshot
             (a fork works too); cards are read from HEAD:docs/_posts.  Several
             may be given; for the same card path the earlier one wins.
--supplement JSON list of cards no snapshot holds, each {"path", "commit",
             "source", "name", "lang", "text"}; "text" is the card, or its
             lines that matter (front matter, Description, References).
             Default: jsl_cards_supplement.json next to this script, which
             holds 168 cards dated 2023-09-07/08 that are newer than every
             spark-nlp snapshot small enough to fetch; their Model Name,
             Language and References lines were copied from the stored
             JohnSnowLabs/spark-nlp file index (read_file) at the commit given.
--spellbook  default /work/shared/nlu/spellbook_embeddings.json
--out        default jsl_cards.json next to this script

Output rows: {lang, card, hf_repo, evidence, kind} as specified, plus
  source        snapshot (or supplement) and commit the card text came from
  hf_owner      HF user/org the card names when it names no repository
                ("... originally trained by X", "... MPNetEmbeddings from X")
  base_hf_repo  for kind jsl_trained: the HF checkpoint the card says JSL
                trained further (the weights are JSL's, not that repo's)
  all_hf_repos  every HF repo named by the same-language cards of that name,
                when there is more than one
  other_cards   the other same-language cards, when all_hf_repos is present
  note          case mismatch of the card name, language fallback, ...

How jsl_cards.json was made (upstream JohnSnowLabs/spark-nlp is a 3.4 GB
snapshot, too big to fetch here): GIT_DIR was the fork edson-github/spark-nlp,
an unmodified copy of upstream at commit 543faafa3b91 ("Models hub (#13943)",
2023-09-06), card paths identical to upstream's, plus the default supplement:

    python extract_cards.py /work/.mirror/edson-github+spark-nlp/repo

Adding older forks (pabla, snosrap, DN6, tongni1975, ...) changes nothing.

Standard library only; no network.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- reading cards


def read_snapshot(git_dir):
    """Yield (path, text) for every markdown card under HEAD:docs/_posts."""
    ls = subprocess.run(['git', '--git-dir', git_dir, 'ls-tree', '-r', 'HEAD', '--', 'docs/_posts'],
                        capture_output=True, text=True, check=True).stdout.splitlines()
    items = []
    for line in ls:
        meta, path = line.split('\t', 1)
        parts = meta.split()
        if parts[1] == 'blob' and path.endswith('.md'):
            items.append((parts[2], path))
    proc = subprocess.Popen(['git', '--git-dir', git_dir, 'cat-file', '--batch'],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    payload = b''.join(b.encode() + b'\n' for b, _ in items)

    def feed():
        proc.stdin.write(payload)
        proc.stdin.close()
    threading.Thread(target=feed, daemon=True).start()
    for blob, path in items:
        header = proc.stdout.readline().split()
        if len(header) < 3 or header[1] == b'missing':
            continue
        data = proc.stdout.read(int(header[2]))
        proc.stdout.read(1)
        yield path, data.decode('utf-8', 'replace')
    proc.wait()


def snapshot_label(git_dir):
    commit = subprocess.run(['git', '--git-dir', git_dir, 'rev-parse', 'HEAD'],
                            capture_output=True, text=True).stdout.strip()
    d = os.path.abspath(git_dir).rstrip('/')
    for suffix in ('/.git', '/repo'):
        if d.endswith(suffix):
            d = d[:-len(suffix)]
    return '%s@%s' % (os.path.basename(d).replace('+', '/'), commit[:10])


FRONT = re.compile(r'\A\s*---\s*\n(.*?)\n---', re.S)
PRETRAINED = re.compile(r'\.pretrained\(\s*["\']([^"\']+)["\']\s*,\s*["\']([^"\']+)["\']')


def parse_card(path, text):
    fm = FRONT.match(text)
    name = lang = annotator = title = None
    if fm:
        block = fm.group(1)

        def field(key):
            m = re.search(r'^%s:\s*(.+?)\s*$' % key, block, re.M)
            return m.group(1).strip('"\'') if m else None
        name, lang, annotator, title = field('name'), field('language'), field('annotator'), field('title')
    pre = PRETRAINED.findall(text)
    if name and not lang:
        # the oldest cards have no language field: take the card's own .pretrained(name, lang)
        for n, l in pre:
            if n == name:
                lang = l
                break
    date = re.search(r'(\d{4}-\d{2}-\d{2})-', os.path.basename(path))
    return {'path': path, 'name': name, 'lang': lang, 'annotator': annotator, 'title': title,
            'text': text, 'date': date.group(1) if date else ''}

# ------------------------------------------------------------ reading evidence


HF_URL = re.compile(r'https?://(?:www\.)?huggingface\.co/([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:/([A-Za-z0-9][A-Za-z0-9_.\-]*))?')
HF_NOT_REPOS = {'models', 'datasets', 'spaces', 'docs', 'transformers', 'blog', 'papers', 'api',
                'join', 'login', 'pricing', 'course', 'tasks', 'settings', 'organizations'}
# Hugging Face's legacy canonical checkpoints have no organisation part
# ("bert-base-uncased"); a one-segment link to anything else names a user or
# an organisation, not a repository.
CANONICAL = re.compile(r'^(bert|roberta|xlnet|albert|gpt2|t5|electra|xlm|distil|longformer|bart|deberta|'
                       r'camembert|flaubert|ctrl)[\w.\-]*$', re.I)


MD_LINK = re.compile(r'\[([^\]]*)\]\((https?://[^)\s]+)\)')
# "`abhilash1910/financial_roberta` is a English ... model" on a line that
# speaks of Hugging Face: a repository id given as text instead of a link
HF_TEXT_ID = re.compile(r'`([A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*)`')


def hf_links(line):
    """[(repo or None, owner or None)] for every huggingface.co link in line.
    For markdown links the target wins over the link text (cards exist whose
    text and target disagree); repository ids written as `org/name` on a line
    that mentions Hugging Face count too, after the links."""
    found = []
    targets = [m.group(2) for m in MD_LINK.finditer(line)]
    rest = MD_LINK.sub(' ', line)
    for m in [x for t in targets for x in HF_URL.finditer(t)] + list(HF_URL.finditer(rest)):
        a, b = m.group(1), m.group(2)
        if a in HF_NOT_REPOS:
            continue
        if b is not None and b not in ('tree', 'blob', 'resolve', 'discussions', 'commit'):
            item = (a + '/' + b.rstrip('.'), a)
        elif CANONICAL.match(a):
            item = (a.rstrip('.'), None)
        else:
            item = (None, a)
        if item not in found:
            found.append(item)
    if not found and re.search(r'hugging ?face', line, re.I):
        for m in HF_TEXT_ID.finditer(line):
            item = (m.group(1), m.group(1).split('/')[0])
            if item not in found:
                found.append(item)
    return found


def sections(text):
    """[(heading, [lines])] of the card body without code samples, buttons and
    plain table rows; the part before the first '## ' has heading ''."""
    body = FRONT.sub('', text, count=1)
    body = re.sub(r'```.*?```', '', body, flags=re.S)
    out = [('', [])]
    for line in body.splitlines():
        s = line.strip()
        if s.startswith('## '):
            out.append((s[3:].strip(), []))
            continue
        if not s or s.startswith(('[Download', '[Copy S3', '<button', '{%', '{:', '<div', '</div')):
            continue
        if s.startswith('|') and not HF_URL.search(s):
            continue
        out[-1][1].append(s)
    return out


def clip(lines, limit=300):
    s = ' / '.join(dict.fromkeys(l.strip() for l in lines if l and l.strip()))
    return s if len(s) <= limit else s[:limit - 3] + '...'


SOURCE_HEAD = re.compile(r'reference|data source|source|original', re.I)
IMPORT_WORDS = re.compile(r'imported from|exported from|adapted from|imported into|model is imported|has been imported|'
                          r'originally trained by|orginally trained by|uploaded to hugging face|from hugging face', re.I)
OWNER = re.compile(r'(?:originally|orginally) trained by\s+`?([A-Za-z0-9][\w.\-]*[\w])`?', re.I)
TITLE_OWNER = re.compile(r'\b(?:TF\w*Model|\w*Embeddings)\s+from\s+([A-Za-z0-9][\w.\-]*)\s*$')
STATIC_NAME = re.compile(r'glove|word2vec|w2v|fasttext|doc2vec', re.I)
STATIC_TEXT = re.compile(r'glove|word2vec|fasttext|fast text|doc2vec|gigaword', re.I)
TFHUB = re.compile(r'tfhub\.dev|tensorflow hub|tf[- ]hub|kaggle\.com/models', re.I)
JSL = re.compile(r'(trained|built|developed|created)[^.]{0,40}\bby\s+(the\s+)?john\s*snow\s*labs|in-house|\bJSL\b', re.I)
SRC_LINE = re.compile(r'imported from|exported from|based on|data source|source:|initialized from|we have trained|'
                      r'trained on|https?://', re.I)
NOT_SRC = re.compile(r'colab|demo\.johnsnowlabs|auxdata|sparknlp\.org|nlp\.johnsnowlabs|arxiv\.org|aclanthology', re.I)


def classify(card):
    """(kind, hf_repo, hf_repos, evidence, owner) for one card."""
    secs = sections(card['text'])
    title = card['title'] or ''
    name = card['name'] or ''
    annot = card['annotator'] or ''
    lines = [l for _, ls in secs for l in ls]
    # HF links count as the card's statement of origin only when they sit in a
    # References / Data Source section or on an "imported from ..." line;
    # links in descriptions (base models, sibling models, leaderboards) do not.
    primary, secondary = [], []
    for head, ls in secs:
        for l in ls:
            links = hf_links(l)
            if links:
                (primary if SOURCE_HEAD.search(head) or IMPORT_WORDS.search(l) else secondary).append((l, links))
    m = OWNER.search('\n'.join(lines)) or TITLE_OWNER.search(title)
    owner = m.group(1) if m else None
    ctx = [l for l in lines if OWNER.search(l)][:1]
    repos = list(dict.fromkeys(r for _, links in primary for r, _ in links if r))
    desc = ' '.join(l for h, ls in secs if h.lower() in ('', 'description') for l in ls)
    ours = re.search(r'[^.]*\b[Ww]e (?:used|have trained|trained|fine-?tuned|pre-?trained)\b[^.]*\.?', desc)
    if repos and ours:
        # JSL trained on top of the linked checkpoint: the link is the base, not the original
        ev = [l for l, links in primary if any(r == repos[0] for r, _ in links)][:1]
        return 'jsl_trained', None, repos, clip([ours.group(0)] + ev), owner
    if repos:
        ev = [l for l, links in primary if any(r == repos[0] for r, _ in links)][:1]
        return 'hf_import', repos[0], repos, clip(ev + ctx), owner
    org_only = [(l, o) for l, links in primary for r, o in links if not r and o]
    if org_only and not owner:
        owner = org_only[0][1]
    head = [title] if title else []
    src = [l for l in lines if SRC_LINE.search(l) and not NOT_SRC.search(l)]
    src.sort(key=lambda l: 0 if re.search(r'imported from|exported from|based on|initialized from', l, re.I) else 1)
    text = '\n'.join(lines)
    if 'elmo' in name.lower() or annot == 'ElmoEmbeddings':
        return 'elmo', None, [], clip(head + src[:1]), owner
    if TFHUB.search(text) or 'universal sentence encoder' in (title + text).lower():
        return 'tfhub', None, [], clip(head + [l for l in lines if TFHUB.search(l)][:1]), owner
    if STATIC_NAME.search(name + ' ' + title) or annot in ('WordEmbeddingsModel', 'Doc2VecModel', 'Word2VecModel'):
        ev = [l for l in lines if re.search(r'imported from|we have trained|trained on|fasttext\.cc|stanford|source',
                                            l, re.I) and not NOT_SRC.search(l)][:2]
        return 'static', None, [], clip(head + (ev or [l for l in lines if STATIC_TEXT.search(l)][:1])), owner
    jsl = [l for l in lines if JSL.search(l)]
    if jsl:
        return 'jsl_trained', None, [], clip(jsl[:2]), owner
    ev = [l for l, _ in org_only][:1] or ctx or [l for l, _ in secondary][:1] or src[:1]
    return 'unclear', None, [], clip(head + ev), owner

# ------------------------------------------------------------------ selection


def wanted_names(spellbook):
    sb = json.load(open(spellbook))
    names = {}
    for spelling, jsl in sb['models'].items():
        lang = spelling.split('.')[0]
        if lang in ('en', 'xx'):
            names.setdefault(jsl, set()).add(lang)
    for jsl in sb['aliases'].values():
        names.setdefault(jsl, set())
    return names


def pick(name, lang, cands):
    """Row for one JSL name from its candidate cards."""
    exact = [c for c in cands if c['name'] == name]
    pool = exact or cands
    notes = []
    if not exact:
        notes.append('card name differs in case: %s' % pool[0]['name'])
    same = [c for c in pool if c['lang'] == lang]
    if not same:
        same = pool
        notes.append('no %s card; used the %s card' % (lang, '/'.join(sorted({c['lang'] or '?' for c in pool}))))
    # newest card first, then the snapshot given first
    same = sorted(same, key=lambda c: (c['date'], -c['rank']), reverse=True)
    verdicts = [(c,) + classify(c) for c in same]
    with_hf = [v for v in verdicts if v[2]]
    c, kind, repo, _, evidence, owner = (with_hf or verdicts)[0]
    if owner is None:
        owner = next((v[5] for v in verdicts if v[5]), None)
    row = {'lang': lang, 'card': c['path'], 'hf_repo': repo, 'evidence': evidence, 'kind': kind,
           'source': c['source']}
    if owner and not repo:
        row['hf_owner'] = owner
    if kind == 'jsl_trained' and not repo:
        base = next((r for v in verdicts if v[0] is c for r in v[3]), None)
        if base:
            row['base_hf_repo'] = base
    all_repos = list(dict.fromkeys(r for v in verdicts for r in v[3]))
    if len(all_repos) > 1:
        row['all_hf_repos'] = all_repos
        row['other_cards'] = [v[0]['path'] for v in verdicts if v[0] is not c]
    if notes:
        row['note'] = '; '.join(notes)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('git_dirs', nargs='+')
    ap.add_argument('--supplement', default=os.path.join(HERE, 'jsl_cards_supplement.json'),
                    help='default: jsl_cards_supplement.json next to this script, if present; "" for none')
    ap.add_argument('--spellbook', default='/work/shared/nlu/spellbook_embeddings.json')
    ap.add_argument('--out', default=os.path.join(HERE, 'jsl_cards.json'))
    args = ap.parse_args()

    names = wanted_names(args.spellbook)
    want = {n.lower() for n in names}
    cards = {}                                  # card path -> card; first source wins
    for rank, g in enumerate(args.git_dirs):
        label = snapshot_label(g)
        for path, text in read_snapshot(g):
            if path in cards:
                continue
            c = parse_card(path, text)
            if (c['name'] or '').lower() in want:
                c['source'], c['rank'] = label, rank
                cards[path] = c
    if args.supplement and os.path.exists(args.supplement):
        for item in json.load(open(args.supplement)):
            if item['path'] in cards:
                continue
            c = parse_card(item['path'], item['text'])
            c['name'] = c['name'] or item.get('name')
            c['lang'] = c['lang'] or item.get('lang')
            if (c['name'] or '').lower() in want:
                c['source'] = '%s@%s' % (item.get('source', 'supplement'), item.get('commit', '')[:10])
                c['rank'] = len(args.git_dirs)
                cards[item['path']] = c

    by_name = {}
    for c in cards.values():
        by_name.setdefault(c['name'].lower(), []).append(c)

    result = {}
    for name in sorted(names, key=str.lower):
        langs = names[name]
        lang = 'en' if 'en' in langs or not langs else 'xx'
        cands = by_name.get(name.lower(), [])
        if cands:
            result[name] = pick(name, lang, cands)
        else:
            result[name] = {'lang': lang, 'card': None, 'hf_repo': None,
                            'evidence': 'no card with this name in the snapshots/supplement read',
                            'kind': 'no_card'}

    with open(args.out, 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write('\n')
    kinds = {}
    for r in result.values():
        kinds[r['kind']] = kinds.get(r['kind'], 0) + 1
    print('%d names -> %s' % (len(result), args.out), file=sys.stderr)
    print(json.dumps(kinds, sort_keys=True), file=sys.stderr)


if __name__ == '__main__':
    main()
