"""Checks an interval's files against its manifest, trusting nothing but the manifest, as a consumer would.

Usage: verify_manifest.py DIRECTORY
  DIRECTORY holds manifest.json and each file the manifest lists, named by the last part of its key.
  For each file: its size and SHA-256 (hashlib) against the manifest's, its rows counted by an independent reader
  (gzip / brotli / zstandard + json for JSON lines, pyarrow for Parquet) against the manifest's; then the totals.
Prints {"problems": [...], "unchecked": [...], "rows": N, "columns": [...]}: no problems means the interval is
verified; "unchecked" lists files whose manifest entry has no SHA-256 (rare: see README).
"""
import hashlib
import json
import os
import sys

from read_export import decompress  # beside this file


def count_jsonlines(data, compression):
    lines = [json.loads(line) for line in decompress(data, compression).decode('utf-8').splitlines() if line]
    return len(lines), sorted(lines[0].keys()) if lines else []


def count_parquet(path):
    import pyarrow.parquet as pq
    table = pq.read_table(path)
    return table.num_rows, sorted(table.schema.names)


def main():
    directory = sys.argv[1]
    with open(os.path.join(directory, 'manifest.json'), 'rb') as handle:
        manifest = json.load(handle)
    problems = []
    unchecked = []  # files without a checksum (a resumed upload the exporter could not read back)
    rows = 0
    columns = []
    for entry in manifest['files']:
        path = os.path.join(directory, entry['key'].rsplit('/', 1)[-1])
        with open(path, 'rb') as handle:
            data = handle.read()
        if len(data) != entry['bytes']:
            problems.append(f"{entry['key']}: {len(data)} bytes, manifest says {entry['bytes']}")
        digest = hashlib.sha256(data).hexdigest()
        if entry['sha256'] is None:
            unchecked.append(entry['key'])
        elif digest != entry['sha256']:
            problems.append(f"{entry['key']}: SHA-256 {digest}, manifest says {entry['sha256']}")
        if manifest['file_format'] == 'Parquet':
            count, names = count_parquet(path)
        else:
            count, names = count_jsonlines(data, manifest['compression'])
        if count != entry['records']:
            problems.append(f"{entry['key']}: {count} rows, manifest says {entry['records']}")
        rows += count
        columns = columns or names
    if rows != manifest['records']:
        problems.append(f"files hold {rows} rows, manifest says {manifest['records']} in all")
    if manifest['source_records'] is not None and rows != manifest['source_records']:
        problems.append(f"files hold {rows} rows, the source had {manifest['source_records']}")
    if sum(entry['bytes'] for entry in manifest['files']) != manifest['bytes']:
        problems.append('file sizes do not add up to the manifest\'s bytes')
    schema = sorted(field['name'] for field in manifest['schema'] or [])
    if not schema:
        problems.append('the manifest has no schema')
    elif columns and columns != schema:
        problems.append(f"files have columns {columns}, manifest schema says {schema}")
    json.dump({'problems': problems, 'unchecked': unchecked, 'rows': rows, 'columns': columns}, sys.stdout)


main()
