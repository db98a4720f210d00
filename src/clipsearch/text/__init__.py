"""Vietnamese text analysis, shared by the writer and the search side:
normalisation (:mod:`~clipsearch.text.normalize`), folding
(:mod:`~clipsearch.text.fold`), syllables (:mod:`~clipsearch.text.syllables`),
pyvi's word segmentation (:mod:`~clipsearch.text.segmenter`,
:mod:`~clipsearch.text.crfmodel`) and a clipping's zones
(:mod:`~clipsearch.text.zones`).

Every module here is cheap to import: no numpy (imported on first use), no
pyvi model (loaded on first use), no Whoosh and nothing of the engine.
"""
