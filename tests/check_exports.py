#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The export map cannot drift: the HP_API names of the installed headers,
the names lib/hotport.map lists and the symbols libhotport.so defines are
one set, and no internal header marks anything HP_API.

check_exports.py LIB MAP --installed H... --internal H...
check_exports.py --print H...   (the HP_API names of H, for the map)
Exit status 0, 1 with one line per difference, 77 without nm."""
import re
import shutil
import subprocess
import sys

# HP_API [extern] <type> name( | name[ | name;   (comments removed first)
DECL = re.compile(r'\bHP_API\s+(?:extern\s+)?[^;(]*?\b(hp_\w+)\s*[(\[;]')
COMMENT = re.compile(r'/\*.*?\*/', re.S)


def api_names(headers):
    """{name: header} of every HP_API declaration in headers."""
    names = {}
    for h in headers:
        with open(h, encoding='utf-8') as f:
            text = COMMENT.sub(' ', f.read())
        text = '\n'.join(l for l in text.splitlines()
                         if not l.lstrip().startswith('#define'))
        for m in DECL.finditer(text):
            names[m.group(1)] = h
    return names


def map_names(path):
    """The names of the map's global: lists; a wildcard is an error."""
    with open(path, encoding='utf-8') as f:
        text = COMMENT.sub(' ', f.read())
    names, where = set(), None
    for tok in re.findall(r'[\w*.?\[\]]+:|[\w*.?\[\]]+;', text):
        if tok.endswith(':'):
            where = tok[:-1]
        elif where == 'global':
            names.add(tok[:-1])
    return names


def so_names(lib):
    """Symbols lib defines and exports (version nodes left out)."""
    out = subprocess.run(['nm', '-D', '--defined-only', lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] != 'A':
            names.add(parts[2].split('@')[0])
    return names


def main(argv):
    if argv[:1] == ['--print']:
        print('\n'.join(sorted(api_names(argv[1:]))))
        return 0
    if shutil.which('nm') is None:
        print('SKIP: no nm (binutils)')
        return 77
    lib, mapfile = argv[0], argv[1]
    i = argv.index('--internal')
    installed, internal = argv[3:i], argv[i + 1:]
    api = api_names(installed)
    listed = map_names(mapfile)
    exported = so_names(lib)
    bad = []
    for n in sorted(listed):
        if not re.fullmatch(r'\w+', n):
            bad.append(f'{mapfile}: {n!r} is a pattern; list names')
    for n in sorted(set(api) - listed):
        bad.append(f'{n} ({api[n]}) is HP_API but not in {mapfile}')
    for n in sorted(listed - set(api)):
        bad.append(f'{n} is in {mapfile} but no installed header declares '
                   'it HP_API')
    for n in sorted(listed - exported):
        bad.append(f'{n} is in {mapfile} but {lib} does not define it')
    for n in sorted(exported - listed):
        bad.append(f'{lib} exports {n}, which {mapfile} does not list')
    for n, h in sorted(api_names(internal).items()):
        bad.append(f'{n} is HP_API in {h}, an internal (not installed) '
                   'header: drop HP_API or install the header')
    for b in bad:
        print(b)
    print(f'exports: {len(exported)} symbols, {len(api)} HP_API names, '
          f'{len(listed)} in the map, {len(bad)} differences')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
