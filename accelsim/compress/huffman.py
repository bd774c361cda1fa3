"""Huffman coding of integer symbols, exact and deterministic.

* ``code_lengths(counts)``: classic Huffman tree built with ``heapq``. Heap entries are
  ``(count, order, node)``; leaves get ``order`` = their rank in ascending symbol order and merged
  nodes get increasing orders after all leaves, so ties break by that order and the result does not
  depend on dict or hash order. A single-symbol alphabet gets a 1-bit code (a stream must still
  spend one bit per symbol to be decodable without side channels).
* ``canonical_codes(lengths)``: canonical Huffman codes (sorted by (length, symbol), consecutive
  integers), so a decoder needs only the code length of every symbol.
* ``encode`` / ``decode``: a bit-exact round trip; ``len(encode(s)) == encoded_bits(s)``.
"""
from __future__ import annotations

import heapq
from collections import Counter

import numpy as np

from accelsim.errors import FormatError


def code_lengths(counts: dict[int, int]) -> dict[int, int]:
    """Huffman code length in bits of every symbol with a positive count."""
    symbols = sorted(s for s, c in counts.items() if c > 0)
    if not symbols:
        return {}
    if len(symbols) == 1:
        return {symbols[0]: 1}
    # node: ("leaf", symbol) or ("node", left, right)
    heap = [(int(counts[s]), order, ("leaf", s)) for order, s in enumerate(symbols)]
    heapq.heapify(heap)
    order = len(symbols)
    while len(heap) > 1:
        c1, _, n1 = heapq.heappop(heap)
        c2, _, n2 = heapq.heappop(heap)
        heapq.heappush(heap, (c1 + c2, order, ("node", n1, n2)))
        order += 1
    lengths: dict[int, int] = {}
    stack = [(heap[0][2], 0)]
    while stack:
        node, depth = stack.pop()
        if node[0] == "leaf":
            lengths[node[1]] = depth
        else:
            stack.append((node[1], depth + 1))
            stack.append((node[2], depth + 1))
    return lengths


def canonical_codes(lengths: dict[int, int]) -> dict[int, str]:
    """Canonical code words (as '0'/'1' strings) from code lengths."""
    code, prev_len, out = 0, 0, {}
    for sym in sorted(lengths, key=lambda s: (lengths[s], s)):
        code <<= lengths[sym] - prev_len
        out[sym] = format(code, f"0{lengths[sym]}b")
        code += 1
        prev_len = lengths[sym]
    return out


def symbol_counts(symbols) -> dict[int, int]:
    values, counts = np.unique(np.asarray(symbols, dtype=np.int64).ravel(), return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def encoded_bits(symbols) -> int:
    """Exact length in bits of the Huffman-coded stream of ``symbols`` (table excluded)."""
    counts = symbol_counts(symbols)
    lengths = code_lengths(counts)
    return sum(counts[s] * lengths[s] for s in counts)


def encode(symbols) -> tuple[str, dict[int, int]]:
    """(bit string, code lengths) of the canonical Huffman coding of ``symbols``."""
    flat = [int(s) for s in np.asarray(symbols, dtype=np.int64).ravel()]
    lengths = code_lengths(Counter(flat))
    codes = canonical_codes(lengths)
    return "".join(codes[s] for s in flat), lengths


def decode(bits: str, lengths: dict[int, int]) -> list[int]:
    """Inverse of ``encode`` given the code lengths (what a canonical decoder stores)."""
    table = {word: sym for sym, word in canonical_codes(lengths).items()}
    out, word = [], ""
    for b in bits:
        word += b
        if word in table:
            out.append(table[word])
            word = ""
    if word:
        raise FormatError("trailing bits do not form a code word")
    return out
