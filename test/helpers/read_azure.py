"""Reads an Azure container with the Python Azure SDK (azure-storage-blob), independent of the writer's.

Usage (the connection string in AZURE_CONNECTION_STRING):
  read_azure.py list CONTAINER              -> {"blobs": [{"name", "size", "sha256"}], "uncommitted": [names]}
  read_azure.py read CONTAINER BLOB FORMAT COMPRESSION [COLUMN,...]
                                            -> read_export.py's {"rows": [...], ...} for the blob
  read_azure.py text CONTAINER BLOB         -> the blob's bytes as text
"""
import hashlib
import json
import os
import sys
import tempfile

from azure.storage.blob import BlobServiceClient

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import read_export  # noqa: E402


def container_client(name):
    service = BlobServiceClient.from_connection_string(os.environ['AZURE_CONNECTION_STRING'])
    return service.get_container_client(name)


def list_container(name):
    container = container_client(name)
    blobs = []
    committed = set()
    for blob in container.list_blobs():
        data = container.download_blob(blob.name).readall()
        blobs.append({'name': blob.name, 'size': blob.size, 'sha256': hashlib.sha256(data).hexdigest()})
        committed.add(blob.name)
    uncommitted = []
    for blob in container.list_blobs(include=['uncommittedblobs']):
        if blob.name not in committed:
            uncommitted.append(blob.name)
            continue
        _, pending = container.get_blob_client(blob.name).get_block_list('uncommitted')
        if pending:
            uncommitted.append(blob.name)
    return {'blobs': sorted(blobs, key=lambda b: b['name']), 'uncommitted': sorted(uncommitted)}


def main():
    command, name = sys.argv[1:3]
    if command == 'list':
        json.dump(list_container(name), sys.stdout)
        return
    data = container_client(name).download_blob(sys.argv[3]).readall()
    if command == 'text':
        sys.stdout.write(data.decode('utf-8'))
        return
    file_format, compression = sys.argv[4:6]
    columns = sys.argv[6].split(',') if len(sys.argv) > 6 else None
    with tempfile.NamedTemporaryFile(suffix='.export') as handle:
        handle.write(data)
        handle.flush()
        if file_format == 'Parquet':
            result = read_export.read_parquet(handle.name, 'pyarrow', columns)
        else:
            result = read_export.read_jsonlines(handle.name, compression)
            if columns:
                # Only these fields: a large file's rows would otherwise cross the pipe whole.
                result['rows'] = [{column: row.get(column) for column in columns} for row in result['rows']]
    json.dump(result, sys.stdout, default=str)


if __name__ == '__main__':
    main()
