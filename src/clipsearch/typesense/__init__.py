"""The archive on a Typesense cluster (``--typesense``): documents analysed
by clipsearch (:mod:`~clipsearch.typesense.documents`), queries planned by
clipsearch into filters (:mod:`~clipsearch.typesense.filtering`), candidates
scored as the Whoosh index scores them (:mod:`~clipsearch.typesense.scorer`),
searched by :mod:`~clipsearch.typesense.archive` and written by
:mod:`~clipsearch.typesense.indexing` (the only part that needs the writer
and Whoosh). Requests go through :mod:`~clipsearch.typesense.connection`.
Nothing is imported here: searching does not load the writer."""
