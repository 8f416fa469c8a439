"""Search over actors, workers, executions and logs (spec §4.9, §5.12).

Three pure layers and one that reads the platform:

- :mod:`.values` types a query value (booleans, ``none``, ISO-8601 time prefixes, numbers,
  JSON, strings);
- :mod:`.query` turns query parameters into a :class:`~.query.Query` (every invalid
  parameter is a 400);
- :mod:`.evaluate` runs a query over shaped records: conditions, full-text relevance,
  paging;
- :mod:`.records` gathers the shaped records a caller may see.
"""

from .evaluate import SearchPage, run_query
from .query import OPERATORS, Condition, Query, parse_query
from .records import FIELDS, SEARCH_TYPES, search, search_records, visible_actor_ids

__all__ = [
    "FIELDS",
    "OPERATORS",
    "SEARCH_TYPES",
    "Condition",
    "Query",
    "SearchPage",
    "parse_query",
    "run_query",
    "search",
    "search_records",
    "visible_actor_ids",
]
