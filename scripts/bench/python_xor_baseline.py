#!/usr/bin/env python3
"""The published decrypt (spec §1) in pure Python, structured as BELLE's models/decrypt.py is: 10 MiB
payload chunks read alongside 10 MiB key chunks (the key rewound when it runs out), XORed byte by
byte in a pool of worker processes (min(8, cpus - 1) of them) fed through a queue, written back in
order and hashed with sha256 on the way. Written here from the spec, not copied.

  python_xor_baseline.py ENC KEY OUT SLICE_BYTES   -> prints the payload bytes/second on stdout

Only the first SLICE_BYTES of the payload are decrypted: a whole release takes too long.
"""
import hashlib
import multiprocessing
import os
import sys
import time

CHUNK = 10 * 1024 * 1024


def xor_with_repeated_key(data, key):
    repeated = (key * (len(data) // len(key) + 1))[: len(data)]
    return bytes(a ^ b for a, b in zip(data, repeated))


def worker(tasks, results):
    while True:
        index, data, key = tasks.get()
        results.put((index, xor_with_repeated_key(data, key)))


def main():
    enc_path, key_path, out_path, slice_bytes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    workers = min(8, max(1, os.cpu_count() - 1))
    tasks, results = multiprocessing.Queue(workers * 3), multiprocessing.Queue()
    for _ in range(workers):
        multiprocessing.Process(target=worker, args=(tasks, results), daemon=True).start()
    start = time.monotonic()
    sha256 = hashlib.sha256()
    sent = 0
    done = 0
    with open(enc_path, "rb") as enc, open(key_path, "rb") as key, open(out_path, "wb") as out:
        enc.read(32)  # the header: sha256 of the plaintext
        while done < slice_bytes:
            data = enc.read(min(CHUNK, slice_bytes - done))
            if not data:
                break
            key_chunk = key.read(CHUNK)
            if not key_chunk:
                key.seek(0)
                key_chunk = key.read(CHUNK)
            tasks.put((sent, data, key_chunk))
            sent += 1
            done += len(data)
        finished = dict(results.get() for _ in range(sent))
        for index in range(sent):
            out.write(finished[index])
            sha256.update(finished[index])
    print(done / (time.monotonic() - start))


if __name__ == "__main__":
    main()
