"""Checks every relative link of the project's Markdown pages: the file it
names exists, and its #anchor names a heading of that file (GitHub's heading
ids). Links inside code blocks and code spans are not links. Usage:
check_links.py SOURCE_DIR; prints each broken link and exits 1."""

import glob
import os
import re
import sys

PAGES = ["README.md", "docs/*.md", "plugins/*/README.md", "bench/*.md", "examples/*/README.md"]
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_SPAN = re.compile(r"(`+).*?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, line.rstrip("\n")


def slug(heading):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, ids = {}, set()
        for _, line in prose_lines(path):
            match = HEADING.match(line)
            if not match:
                continue
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            ids.add(base if count == 0 else f"{base}-{count}")
        cache[path] = ids
    return cache[path]


def main():
    root = os.path.abspath(sys.argv[1])
    pages = sorted({p for pattern in PAGES for p in glob.glob(os.path.join(root, pattern))})
    broken, checked = [], 0
    for page in pages:
        for number, line in prose_lines(page):
            for target in LINK.findall(CODE_SPAN.sub("", line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                checked += 1
                path, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                where = f"{os.path.relpath(page, root)}:{number}: {target}"
                if not resolved.startswith(root + os.sep) or not os.path.exists(resolved):
                    broken.append(f"{where}: no such file")
                elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                    broken.append(f"{where}: no heading #{anchor} in {os.path.relpath(resolved, root)}")
                elif anchor and not resolved.endswith(".md"):
                    broken.append(f"{where}: an anchor into a file that is not Markdown")
    for line in broken:
        print(line)
    print(f"{len(pages)} pages, {checked} relative links, {len(broken)} broken")
    if checked == 0:
        print("no relative link found: the page list is wrong")
        return 1
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
