"""The query side of the engine, used by :mod:`clipsearch.search`: the query
language (:mod:`~clipsearch.searching.syntax`), query plans
(:mod:`~clipsearch.searching.plan`) and their evaluation
(:mod:`~clipsearch.searching.scoring`), ranking, filters and facets,
highlights and snippets, "did you mean" (:mod:`~clipsearch.searching.spelling`)
and "similar".
"""
