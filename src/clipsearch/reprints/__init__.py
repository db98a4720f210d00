"""Near-duplicate reprints: MinHash signatures (:mod:`~clipsearch.reprints.minhash`),
grouped at index time (:mod:`~clipsearch.reprints.grouping`) and collapsed
into one hit in results (:mod:`~clipsearch.reprints.collapse`).
"""
